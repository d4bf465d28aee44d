"""The event vocabulary shared by the CLI, the GUI and the tests.

Every long operation yields these small frozen dataclasses. Each serialises to one JSON
object with a ``type`` field (``heron ask --json`` prints one per line) and back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass(frozen=True)
class TextDelta(Event):
    """A piece of the answer (text outside ``<think>``)."""

    type: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True)
class ThinkDelta(Event):
    """A piece of the reasoning (text inside ``<think>…</think>``)."""

    type: ClassVar[str] = "think"
    text: str


@dataclass(frozen=True)
class Step(Event):
    """One reasoning step, anchored to a moment or a range of the audio when it cites one.

    ``start_s``/``end_s`` are seconds from the start of the recording (both None when the step
    cites no time; equal for a single moment). ``char_start``/``char_end`` locate the step in
    its source text; ``source`` is "reasoning" (inside ``<think>``) or "answer"; ``past_end``
    flags an anchor beyond the end of the audio (kept, so the user can see the model erred).
    """

    type: ClassVar[str] = "step"
    index: int
    start_s: float | None
    end_s: float | None
    text: str
    char_start: int = 0
    char_end: int = 0
    source: str = "reasoning"
    past_end: bool = False


@dataclass(frozen=True)
class Progress(Event):
    """Long work under way: ``stage`` is a short name such as ``load_model`` or ``decode``."""

    type: ClassVar[str] = "progress"
    stage: str
    done: float
    total: float | None = None


@dataclass(frozen=True)
class Done(Event):
    """The request finished; ``stats`` holds its timings and counts."""

    type: ClassVar[str] = "done"
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Error(Event):
    """The request failed; ``kind`` is the error family's kind, ``message`` one actionable line."""

    type: ClassVar[str] = "error"
    kind: str
    message: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (TextDelta, ThinkDelta, Step, Progress, Done, Error)
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from ``Event.to_dict()`` output."""
    cls = EVENT_TYPES[data["type"]]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
