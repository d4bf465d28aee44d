"""The local engine: the model in a child process on this computer (``engine.interface.Engine``).

The model runs in a child process so that a crash, an out-of-memory kill or a hang there
never takes the caller down. ``LocalEngine.ask`` yields the engine's events; if the process
dies mid-request the caller gets an ``Error`` event, and the next request starts a fresh engine.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator

from app.child_process import ChildProcess
from engine.events import Done, Error, Event
from engine.interface import EngineState, Health
from engine.requests import AskRequest, LoadRequest
from engine.runtime.protocol import Ask, Cancel, Load, Reply, Shutdown

_POLL_S = 0.02
CANCEL_GRACE_S = 0.15  # after this the caller is told "cancelled" even if the engine is still busy


class LocalEngine:
    def __init__(self, log_dir: str | None = None):
        self.log_dir = log_dir
        self.child = ChildProcess("heron-engine")
        self._ids = itertools.count(1)
        self._current: int | None = None
        self._cancel_requested = threading.Event()
        self._crashed_last = False  # the last engine died: the next start is a restart
        self._crash = ""  # how the last one ended, when it crashed
        self.restarts = 0  # fresh engines started after a crash

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.child.pid

    def is_running(self) -> bool:
        return self.child.is_running()

    def start(self) -> None:
        if self.is_running():
            return
        from engine.runtime.process import serve

        self.child.spawn(serve, self.log_dir)
        self.restarts += self._crashed_last
        self._crashed_last = False

    def shutdown(self, timeout: float = 5.0) -> None:
        if self.is_running():
            with contextlib.suppress(OSError):  # already gone
                self.child.conn.send(Shutdown())
            self.child.process.join(timeout)
            if self.child.process.is_alive():
                self.child.process.kill()
                self.child.process.join()
        self.child.discard()

    def health(self) -> Health:
        if self._crashed_last:
            return Health(EngineState.CRASHED, "local process", self.restarts, self._crash)
        if not self.is_running():
            return Health(EngineState.STOPPED, "local process", self.restarts)
        state = EngineState.BUSY if self._current is not None else EngineState.READY
        return Health(state, f"local process {self.pid}", self.restarts)

    # -- requests ----------------------------------------------------------------------------
    def ask(self, request: AskRequest) -> Iterator[Event]:
        return self._request(Ask, request)

    def load(self, request: LoadRequest) -> Iterator[Event]:
        return self._request(Load, request)

    def cancel(self) -> None:
        """Stop the running request; its stream ends within ``CANCEL_GRACE_S`` with ``Done``."""
        self._cancel_requested.set()

    def _request(self, message: type[Ask | Load], request) -> Iterator[Event]:
        self.start()
        request_id = next(self._ids)
        self._current = request_id
        self._cancel_requested.clear()
        try:
            self.child.conn.send(message(request_id, request))
        except OSError:
            yield self._crashed()
            return
        try:
            yield from self._events_of(request_id)
        finally:
            self._current = None

    def _events_of(self, request_id: int) -> Iterator[Event]:
        cancel_sent_at: float | None = None
        while True:
            if self._cancel_requested.is_set() and cancel_sent_at is None:
                self.child.conn.send(Cancel(request_id))
                cancel_sent_at = time.monotonic()
            if cancel_sent_at and time.monotonic() - cancel_sent_at > CANCEL_GRACE_S:
                yield Done.cancelled()  # the engine finishes on its own and is ignored
                return
            event = self._receive(request_id)
            if event is None:
                continue
            yield event
            if isinstance(event, (Done, Error)):
                return

    def _receive(self, request_id: int) -> Event | None:
        try:
            if not self.child.conn.poll(_POLL_S):
                return None if self.child.process.is_alive() else self._crashed()
            reply: Reply = self.child.conn.recv()
        except (EOFError, OSError):
            return self._crashed()
        return reply.event if reply.request_id == request_id else None  # late events of an abandoned request

    def _crashed(self) -> Error:
        how = self.child.exit_description()
        self._crashed_last, self._crash = True, how
        return Error(
            "engine_crashed",
            f"The model engine stopped unexpectedly ({how}). "
            "The answer was cut short; ask again and a fresh engine starts.",
        )
