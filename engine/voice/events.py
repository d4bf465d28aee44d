"""Events of a voice conversation, in the same vocabulary as the rest of the engine.

They are registered into ``engine.events.EVENT_TYPES`` on import, so ``event_from_dict`` rebuilds
them. Events that carry samples (``Utterance``) serialise the sample count only: audio does not
travel as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.events import EVENT_TYPES, Event


@dataclass(frozen=True)
class ListeningChanged(Event):
    """The loop started or stopped listening; ``mode`` is "auto" (VAD) or "push_to_talk"."""

    type: ClassVar[str] = "listening"
    listening: bool
    mode: str = "auto"


@dataclass(frozen=True)
class InputLevel(Event):
    """The microphone's level after echo cancellation, about 10 times a second (for a meter)."""

    type: ClassVar[str] = "input_level"
    db: float


@dataclass(frozen=True)
class SpeechStarted(Event):
    """The user started a turn (speech confirmed, not a blip); ``at_s`` is stream time."""

    type: ClassVar[str] = "speech_started"
    at_s: float


@dataclass(frozen=True)
class SpeechEnded(Event):
    """The user's turn ended: ``silence_s`` of quiet after ``duration_s`` of speech."""

    type: ClassVar[str] = "speech_ended"
    at_s: float
    duration_s: float


@dataclass(frozen=True)
class Utterance(Event):
    """What the user said, as 16 kHz mono float32 samples (pre-roll included).

    ``cut_short`` is set when the microphone vanished mid-turn: the samples are what was
    recorded until then. ``turn_id`` is the question's turn in the history, once the
    conversation has taken it (``VoiceLoop.events``).
    """

    type: ClassVar[str] = "utterance"
    duration_s: float
    cut_short: bool = False
    samples: Any = field(default=None, compare=False, repr=False)
    turn_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"type": self.type, "duration_s": self.duration_s, "cut_short": self.cut_short}
        return data if self.turn_id is None else {**data, "turn_id": self.turn_id}


@dataclass(frozen=True)
class Speaking(Event):
    """Heron starts (``active``) or stops saying something; ``text`` is the piece being spoken."""

    type: ClassVar[str] = "speaking"
    active: bool
    text: str = ""


@dataclass(frozen=True)
class BargeIn(Event):
    """The user spoke over Heron: playback stopped and the answer was cancelled."""

    type: ClassVar[str] = "barge_in"
    at_s: float
    stop_ms: float  # from the first voiced chunk to the player going silent


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not an error (a remembered device is gone, …)."""

    type: ClassVar[str] = "notice"
    message: str


for _cls in (ListeningChanged, InputLevel, SpeechStarted, SpeechEnded, Utterance, Speaking, BargeIn, Notice):
    EVENT_TYPES[_cls.type] = _cls
