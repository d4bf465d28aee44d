"""One model, many clients: admission to the queue, and a request's events as an async stream.

The engine answers one request at a time. Each HTTP request gets its own ``EngineView`` of the
shared engine, so it waits its turn and its cancel stops only its own answer. At most
``depth`` requests are running or waiting; the next one is refused (the route answers 503).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

from app.engines.shared import SharedEngine
from engine.events import Done, Error, Event
from engine.requests import AskRequest


class Admission:
    def __init__(self, depth: int):
        self.depth = depth
        self.count = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.count >= self.depth:
                return False
            self.count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


async def answer(shared: SharedEngine, request: AskRequest) -> AsyncIterator[Event]:
    """The request's events; leaving early (the client went away) cancels its answer."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[Event | None] = asyncio.Queue()
    view = shared.view()

    def pump() -> None:
        try:
            for event in view.ask(request):
                loop.call_soon_threadsafe(events.put_nowait, event)
        finally:
            loop.call_soon_threadsafe(events.put_nowait, None)

    worker = threading.Thread(target=pump, name="heron-serve-ask", daemon=True)
    worker.start()
    finished = False
    try:
        while (event := await events.get()) is not None:
            finished = finished or isinstance(event, (Done, Error))
            yield event
    finally:
        if not finished:
            view.cancel()
