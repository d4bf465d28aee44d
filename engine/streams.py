"""Helpers for event streams: generators of events that return a value when they end."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import TypeVar

from engine.events import Event

R = TypeVar("R")


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
