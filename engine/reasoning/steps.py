"""Build ``Step`` events from spans of text, and move them in time."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

from engine.events import Step
from engine.reasoning.anchors import find_anchors


def make_step(text: str, char_start: int, index: int, *, source: str, audio_duration: float | None) -> Step:
    """A step for ``text``, which starts at ``char_start`` in its source.

    The step's anchor is the first moment or range it cites (the most useful single place to
    seek to); ``find_anchors(step.text)`` gives all of them.
    """
    anchors = find_anchors(text)
    start_s = end_s = None
    if anchors:
        start_s, end_s = anchors[0].start_s, anchors[0].end_s
    return Step(
        index=index,
        start_s=start_s,
        end_s=end_s,
        text=text,
        char_start=char_start,
        char_end=char_start + len(text),
        source=source,
        past_end=is_past_end(end_s, audio_duration),
    )


def is_past_end(end_s: float | None, audio_duration: float | None) -> bool:
    """True when a cited time lies beyond the audio.

    Timestamps are written in whole seconds, so the end of a 29.4 s clip may be cited as 0:30:
    the limit is the duration rounded up to a whole second.
    """
    if end_s is None or audio_duration is None or not math.isfinite(audio_duration):
        return False
    return end_s > math.ceil(audio_duration)


def shift_steps(steps: Iterable[Step], offset_s: float) -> list[Step]:
    """The steps with every cited time moved by ``offset_s`` (a window's start in a long recording).

    ``past_end`` is kept as it was judged against the window the model heard.
    """
    if offset_s == 0:
        return list(steps)
    return [
        s if s.start_s is None else replace(s, start_s=s.start_s + offset_s, end_s=s.end_s + offset_s)
        for s in steps
    ]
