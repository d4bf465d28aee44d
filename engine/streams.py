"""Helpers for event streams: generators of events that return a value when they end.

``relay`` transforms a stream's events and keeps its return value; ``with_progress`` runs a
blocking call in a thread while yielding its progress: ``result = yield from
with_progress(Stage.DECODE_AUDIO, decode, path)``; the call receives a ``progress(done, total)``
keyword argument.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from engine.events import Event, Progress

R = TypeVar("R")
T = TypeVar("T")


def relay(
    stream: Generator[Event, None, R], transform: Callable[[Event], Iterable[Event]]
) -> Generator[Event, None, R]:
    """Pass each event through ``transform`` (into zero or more events), keeping the stream's return value."""
    while True:
        try:
            event = next(stream)
        except StopIteration as stop:
            return stop.value
        yield from transform(event)


def with_progress(
    stage: str, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> Generator[Progress, None, T]:
    updates: queue.Queue = queue.Queue()
    outcome: dict[str, Any] = {}

    def progress(done: float, total: float | None = None) -> None:
        updates.put((done, total))

    def run() -> None:
        try:
            outcome["value"] = fn(*args, progress=progress, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc
        finally:
            updates.put(None)

    thread = threading.Thread(target=run, name=f"heron-{stage}", daemon=True)
    thread.start()
    yield Progress(stage, 0.0, None)
    while (update := updates.get()) is not None:
        while not updates.empty():  # a burst of updates reaches the caller as its newest value
            newer = updates.get()
            if newer is None:
                updates.put(None)
                break
            update = newer
        done, total = update
        yield Progress(stage, float(done), None if total is None else float(total))
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
