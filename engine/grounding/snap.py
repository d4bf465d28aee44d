"""Snap a cited time to the start of the event it names: ``snap()``, or a ``Grounder`` per recording."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.grounding.analysis import Analysis
from engine.grounding.candidates import Candidate, candidates
from engine.grounding.choose import choose, reach
from engine.grounding.ends import best_end
from engine.grounding.envelope import Envelope, envelope
from engine.grounding.hints import event_kind
from engine.grounding.source import ArrayAudio, AudioSource

CONTEXT_S = (1.5, 3.0)  # read beyond the search: a background before, an event's end after
MIN_RANGE_S = 0.5  # a cited range shorter than this is a moment
JOINT_S = 16.0  # a range this short is read as one stretch, both ends at once


@dataclass(frozen=True)
class Snapped:
    """Where a cited time lands. ``kind`` is "speech", "sound", or "none" (nothing convincing
    near: the raw times are kept and ``confidence`` is 0)."""

    start_s: float
    end_s: float
    raw_start_s: float
    raw_end_s: float
    confidence: float
    kind: str


class Grounder:
    """Snaps any number of anchors on one recording, analysing each part of it once."""

    def __init__(self, source: AudioSource):
        self.analysis = Analysis(source)

    @property
    def duration_s(self) -> float:
        return self.analysis.duration_s

    def prepare(self, start_s: float, end_s: float) -> None:
        """Analyse a stretch ahead of the anchors that will cite it."""
        self.analysis.region(start_s, end_s)

    def snap(self, start_s: float, end_s: float | None = None, text: str = "") -> Snapped:
        raw_end = start_s if end_s is None else max(end_s, start_s)
        unsnapped = Snapped(start_s, raw_end, start_s, raw_end, 0.0, "none")
        if not 0 <= start_s < self.duration_s:
            return unsnapped
        low, high = reach(start_s)
        ranged = raw_end - start_s >= MIN_RANGE_S
        joint = ranged and reach(raw_end)[1] - low <= JOINT_S  # one stretch holds both ends
        env = self._envelope(low, reach(raw_end)[1] if joint else high)
        choice = choose(candidates(env, low, high), start_s, event_kind(text))
        if choice is None:
            return unsnapped
        event = choice.candidate
        end = self._end(event, raw_end, env if joint else None) if ranged else event.end_s
        kind = "speech" if event.speech else "sound"
        start, end = float(event.start_s), float(max(end, event.start_s))
        return Snapped(start, end, start_s, raw_end, float(choice.confidence), kind)

    def _envelope(self, low: float, high: float) -> Envelope:
        return envelope(self.analysis.region(low - CONTEXT_S[0], high + CONTEXT_S[1]))

    def _end(self, event: Candidate, cited_end_s: float, env: Envelope | None) -> float:
        """A range's end: where the event falls back into the background near its cited end."""
        env = env or self._envelope(*reach(cited_end_s))
        known = [(event.end_s, event.salience)] if env.start_s <= event.end_s < env.time(len(env) - 1) else []
        end = best_end(env, cited_end_s, event.start_s, event.speech, known)
        return cited_end_s if end is None else end


def snap(
    audio: np.ndarray, sample_rate: int, start_s: float, end_s: float | None = None, text: str = ""
) -> Snapped:
    """Where the event cited at ``start_s`` (to ``end_s`` for a range) really starts (and ends).

    ``audio`` is the recording's samples (mono, any rate); only the part around the anchor is read.
    ``text`` is the step's text: a quotation favours speech starts, "a door slams" sounds.
    """
    return Grounder(ArrayAudio(audio, sample_rate)).snap(start_s, end_s, text)
