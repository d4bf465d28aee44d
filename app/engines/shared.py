"""One engine, several users: typed questions and the voice conversation take turns.

The window owns one engine (one model in memory). It answers one request at a time and its
``cancel`` stops whatever runs, so each user gets an ``EngineView``, itself an
``engine.interface.Engine``: its requests wait for the engine to be free, and its ``cancel``
stops only its own request (a voice answer dropped while a typed one runs must not stop the
typed one). Who preempts whom is the caller's decision (the controller stops the speech before
a typed ask).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from engine.events import Done, Event
from engine.interface import Engine, Health
from engine.requests import AskRequest, LoadRequest

_WAIT_S = 0.05  # how often a request waiting for the engine checks whether it was cancelled


class SharedEngine:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._turn = threading.Lock()  # held by the view whose request runs
        self._state = threading.Lock()  # guards ``_owner``
        self._owner: EngineView | None = None

    def view(self) -> EngineView:
        return EngineView(self)

    @property
    def owner(self) -> EngineView | None:
        return self._owner


class EngineView:
    """The engine as one user sees it: ``ask``/``load`` as usual, ``cancel`` its own request."""

    def __init__(self, shared: SharedEngine):
        self.shared = shared
        self._cancelled = threading.Event()

    @property
    def engine(self) -> Engine:
        return self.shared.engine

    def ask(self, request: AskRequest) -> Iterator[Event]:
        self._cancelled.clear()  # eagerly: a cancel after this call is for this request
        return self._run(lambda: self.engine.ask(request))

    def load(self, request: LoadRequest) -> Iterator[Event]:
        self._cancelled.clear()
        return self._run(lambda: self.engine.load(request))

    def cancel(self) -> None:
        shared = self.shared
        with shared._state:
            self._cancelled.set()
            if shared._owner is self:
                self.engine.cancel()

    def shutdown(self) -> None:
        """This user is done: its request stops; the engine itself is its owner's to shut down."""
        self.cancel()

    def health(self) -> Health:
        return self.engine.health()

    def _run(self, start: Callable[[], Iterator[Event]]) -> Iterator[Event]:
        shared = self.shared
        while not shared._turn.acquire(timeout=_WAIT_S):
            if self._cancelled.is_set():
                yield Done.cancelled()
                return
        try:
            with shared._state:
                shared._owner = self
            if self._cancelled.is_set():
                yield Done.cancelled()
                return
            for event in start():
                # The engine clears its cancel flag when its request starts: a cancel that came
                # in between is repeated here (repeating one is harmless).
                if self._cancelled.is_set():
                    self.engine.cancel()
                yield event
        finally:
            with shared._state:
                shared._owner = None
            shared._turn.release()
