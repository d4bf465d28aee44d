"""The one seam between Heron and whatever answers: an ``Engine``.

The window, ``heron ask``, ``heron chat`` and the voice loop talk to this interface and never
know what is behind it: the local engine process (``app.engines.local``), a remote server, or a
test double. Each request is an iterator of events that always ends with ``Done`` or ``Error``;
a stopped request ends with ``Done.cancelled()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from engine.events import Event
from engine.requests import AskRequest, LoadRequest


class EngineState(StrEnum):
    STOPPED = "stopped"  # nothing loaded and nothing running: the next request starts it
    READY = "ready"  # running, idle
    BUSY = "busy"  # answering a request
    CRASHED = "crashed"  # the last one died; the next request starts a fresh one


@dataclass(frozen=True)
class Health:
    state: EngineState
    where: str  # e.g. "local process 1234" or a server's address
    restarts: int = 0  # fresh engines started after a crash
    detail: str = ""  # why it crashed, when it did


@runtime_checkable
class Engine(Protocol):
    def ask(self, request: AskRequest) -> Iterator[Event]:
        """Answer the last turn of ``request``, streaming its events."""
        ...

    def load(self, request: LoadRequest) -> Iterator[Event]:
        """Load (or keep) a model without asking anything; ends with ``Done`` saying what loaded."""
        ...

    def cancel(self) -> None:
        """Stop the running request soon; its stream then ends with ``Done.cancelled()``."""
        ...

    def shutdown(self) -> None:
        """Let the model go and end the engine; a later request starts it again."""
        ...

    def health(self) -> Health: ...
