"""The event vocabulary shared by the CLI, the GUI and the tests.

Every long operation yields these small frozen dataclasses. Each serialises to one JSON
object with a ``type`` field (``heron ask --json`` prints one per line) and back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar


class Finish(StrEnum):
    """How a request ended (``Done.stats["finish"]``): an answer, or a training run."""

    STOP = "stop"  # the model said all it had to say
    LENGTH = "length"  # cut at max_new_tokens
    CANCELLED = "cancelled"  # the user pressed Stop (or asked something else)
    INTERRUPTED = "interrupted"  # the user talked over a spoken answer
    COMPLETED = "completed"  # training: every step run
    EARLY_STOP = "early_stop"  # training: the eval loss stopped improving


class Stage(StrEnum):
    """What long work a ``Progress`` event reports."""

    LOAD_MODEL = "load_model"
    DECODE_AUDIO = "decode_audio"
    PLAN_WINDOWS = "plan_windows"
    WINDOWS = "windows"
    VALIDATE = "validate"
    AUDIO_FEATURES = "audio_features"

    @property
    def label(self) -> str:
        """What the user reads while it runs (the window and the terminal alike)."""
        return _STAGE_LABELS[self]


_STAGE_LABELS = {
    Stage.LOAD_MODEL: "Loading the model",
    Stage.DECODE_AUDIO: "Reading the recording",
    Stage.PLAN_WINDOWS: "Finding pauses to split the recording",
    Stage.WINDOWS: "Listening to the recording part by part",
    Stage.VALIDATE: "Checking the dataset",
    Stage.AUDIO_FEATURES: "Encoding the audio",
}


def stage_label(stage: str) -> str:
    """A progress stage in words; an unknown one (a newer engine's) as it is."""
    try:
        return Stage(stage).label
    except ValueError:
        return stage


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

    ``snapped_start_s``/``snapped_end_s`` are where the cited event really starts and falls back
    into the background, found in the audio (``engine.grounding``); ``confidence`` says how sure
    that is, 0 when nothing convincing was near (the snapped times are then the cited ones). All
    three are None until a step is snapped; the engine emits steps unsnapped.
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
    snapped_start_s: float | None = None
    snapped_end_s: float | None = None
    confidence: float | None = None

    @property
    def snapped(self) -> bool:
        """Whether the audio confirmed an event near the cited time (and the snapped times say where)."""
        return self.snapped_start_s is not None and bool(self.confidence)


@dataclass(frozen=True)
class Progress(Event):
    """Long work under way: ``stage`` is a ``Stage`` value such as ``load_model``."""

    type: ClassVar[str] = "progress"
    stage: str
    done: float
    total: float | None = None


@dataclass(frozen=True)
class Done(Event):
    """The request finished; ``stats`` holds its timings and counts."""

    type: ClassVar[str] = "done"
    stats: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def cancelled(cls, **stats: Any) -> Done:
        """The one shape of a stopped request's end, wherever it is stopped."""
        return cls({"finish": Finish.CANCELLED, **stats})

    @property
    def finish(self) -> str | None:
        return self.stats.get("finish")


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
