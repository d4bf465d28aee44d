"""Run a blocking call in a thread while yielding its progress as ``Progress`` events.

Usage: ``result = yield from with_progress("decode_audio", decode, path)``; the call
receives a ``progress(done, total)`` keyword argument.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from engine.events import Progress

T = TypeVar("T")


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
