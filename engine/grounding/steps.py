"""Reasoning steps snapped to their events, and where a click on one plays from."""

from __future__ import annotations

from dataclasses import replace

from engine.events import Step
from engine.grounding.snap import Grounder

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
