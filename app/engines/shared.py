"""One engine process, several users: typed questions and the voice conversation take turns.

The window owns one ``EngineClient`` (one process, one model in memory). The engine answers one
request at a time and ``EngineClient.cancel`` stops whatever runs, so each user of the client
gets an ``EngineView``: its requests wait for the engine to be free, and its ``cancel`` stops
only its own request (a voice answer dropped while a typed one runs must not stop the typed one).
Who preempts whom is the caller's decision (the controller stops the speech before a typed ask).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from engine.events import Done, Event
from engine.requests import AskRequest, LoadRequest

_WAIT_S = 0.05  # how often a request waiting for the engine checks whether it was cancelled


class SharedEngine:
    def __init__(self, client):
        self.client = client
        self._turn = threading.Lock()  # held by the view whose request runs
        self._state = threading.Lock()  # guards ``_owner``
        self._owner: EngineView | None = None

    def view(self) -> EngineView:
        return EngineView(self)

    @property
    def owner(self) -> EngineView | None:
        return self._owner


class EngineView:
    """The engine as one user sees it: ``ask``/``load`` like ``EngineClient``, ``cancel`` its own."""

    def __init__(self, shared: SharedEngine):
        self.shared = shared
        self._cancelled = threading.Event()

    @property
    def client(self):
        return self.shared.client

    def ask(self, request: AskRequest) -> Iterator[Event]:
        self._cancelled.clear()  # eagerly: a cancel after this call is for this request
        return self._run(lambda: self.client.ask(request))

    def load(self, request: LoadRequest) -> Iterator[Event]:
        self._cancelled.clear()
        return self._run(lambda: self.client.load(request))

    def cancel(self) -> None:
        shared = self.shared
        with shared._state:
            self._cancelled.set()
            if shared._owner is self:
                self.client.cancel()

    def _run(self, start: Callable[[], Iterator[Event]]) -> Iterator[Event]:
        shared = self.shared
        while not shared._turn.acquire(timeout=_WAIT_S):
            if self._cancelled.is_set():
                yield Done({"finish": "cancelled"})
                return
        try:
            with shared._state:
                shared._owner = self
            if self._cancelled.is_set():
                yield Done({"finish": "cancelled"})
                return
            for event in start():
                # The client clears its cancel flag when its request starts: a cancel that came
                # in between is repeated here (repeating one is harmless).
                if self._cancelled.is_set():
                    self.client.cancel()
                yield event
        finally:
            with shared._state:
                shared._owner = None
            shared._turn.release()
