"""The messages between the app and the engine process, one small dataclass each.

In: ``Ask`` and ``Load`` (each answered by a stream of ``Reply``), ``Cancel`` (of a running
request) and ``Shutdown``. Out: ``Reply(request_id, event)``, the stream of one request ending
with ``Done`` or ``Error``. Both ends import this module, so neither writes tuples by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import Event
from engine.requests import AskRequest, LoadRequest


@dataclass(frozen=True)
class Ask:
    request_id: int
    request: AskRequest


@dataclass(frozen=True)
class Load:
    request_id: int
    request: LoadRequest


@dataclass(frozen=True)
class Cancel:
    request_id: int


@dataclass(frozen=True)
class Shutdown:
    pass


@dataclass(frozen=True)
class Reply:
    request_id: int
    event: Event


Request = Ask | Load
Message = Ask | Load | Cancel | Shutdown
