"""Reasoning steps snapped to their events, and where a click on one plays from."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from engine.errors import HeronError
from engine.events import Step
from engine.grounding.snap import Grounder
from engine.grounding.source import AudioSource
from engine.grounding.speech import warm_up

log = logging.getLogger(__name__)

PRE_ROLL_S = 0.15  # playback starts this much before a snapped onset, so the onset itself is heard


def ground_step(step: Step, grounder: Grounder) -> Step:
    """``step`` with its snapped times and confidence (a step citing no time is returned as it is).

    Times are absolute in the recording, so a long recording's steps snap across its windows.
    """
    if step.start_s is None:
        return step
    found = grounder.snap(step.start_s, step.end_s, step.text)
    return replace(
        step,
        snapped_start_s=round(found.start_s, 3),
        snapped_end_s=round(found.end_s, 3),
        confidence=round(found.confidence, 3),
    )


def unsnapped(step: Step) -> Step:
    """``step`` as the model cited it (snapping turned off)."""
    if step.snapped_start_s is None and step.confidence is None:
        return step
    return replace(step, snapped_start_s=None, snapped_end_s=None, confidence=None)


def play_start(step: Step) -> float | None:
    """Where a click on ``step`` plays from: just before the event it names, else the cited time."""
    if step.snapped:
        return max(step.snapped_start_s - PRE_ROLL_S, 0.0)
    return step.start_s


class StepSnapper:
    """Snaps the steps of one recording, each anchor once; with snapping off, unsnaps them.

    Grounding only helps: should the audio not be readable, a step is passed on as it came.
    """

    def __init__(self, source: AudioSource | None = None, enabled: bool = True):
        self.enabled = enabled
        self._lock = threading.Lock()  # the window's thread and the voice loop's may both ask
        self.use(source)

    def use(self, source: AudioSource | None) -> None:
        """Snap against another recording (None: none is open; steps pass as they are)."""
        with self._lock:
            self._grounder = Grounder(source) if source is not None else None
            self._done: dict[tuple, Step] = {}
        if source is not None and self.enabled:
            warm_up()

    def ground(self, step: Step) -> Step:
        if step.start_s is None:
            return step
        if not self.enabled:
            return unsnapped(step)
        if self._grounder is None:
            return step
        key = (step.start_s, step.end_s, step.text)
        with self._lock:
            if key not in self._done:
                try:
                    self._done[key] = ground_step(step, self._grounder)
                except (HeronError, OSError, ValueError, RuntimeError) as exc:
                    log.warning("Could not snap step %d at %.1f s: %s", step.index, step.start_s, exc)
                    return step
            found = self._done[key]
        return replace(step, snapped_start_s=found.snapped_start_s, snapped_end_s=found.snapped_end_s,
                       confidence=found.confidence)  # fmt: skip
