"""Run an iterator in a worker thread, a few items ahead of the thread that consumes them.

FFmpeg's decoders, libsndfile and soxr all release the GIL, so with a second core free the resampler
works on one block while the decoder produces the next (decode.py says how the work is split).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_POLL_S = 0.05  # how often a blocked worker looks whether the consumer has gone


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


@contextmanager
def prefetched(items: Iterable[T], depth: int = 4) -> Iterator[Iterator[T]]:
    """Yield an iterator over ``items`` produced by a worker thread at most ``depth`` items ahead.

    An exception in the worker is raised in the consumer. Leaving the block early (an exception or a
    cancel in the consumer) stops the worker and waits for it, so ``items`` may use resources that
    the caller closes right after.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_Failed(exc))
            return
        finally:  # a generator stopped half-way releases its files here, before the caller closes them
            close = getattr(items, "close", None)
            if close is not None:
                close()
        put(_END)

    def consume() -> Iterator[T]:
        while (item := slots.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item

    worker = threading.Thread(target=work, name="heron-audio-decode", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()
