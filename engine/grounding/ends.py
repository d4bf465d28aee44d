"""Where a cited range ends: the point near its cited end where the sound falls back into the
background (for speech, where silero hears the talking stop), weighed like a start."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.grounding.candidates import QUIET, SPEECH_OFF, SPEECH_QUIET
from engine.grounding.choose import MIN_SCORE, likelihood
from engine.grounding.envelope import Envelope, smooth

LOUD_DB = 3.0  # above the background by this much, a frame still belongs to an event
MEASURE = 20  # frames on each side of a fall over which the drop is measured (200 ms)


def best_end(
    env: Envelope, cited_s: float, lo_s: float, speech: bool, known: list[tuple[float, float]]
) -> float | None:
    """The most likely end after ``lo_s`` near ``cited_s``, or None when nothing convincing falls.

    ``known`` are (time, salience) ends found already, e.g. the cited event's own end.
    """
    found = known + falls(env, speech)
    scored = [(salience * likelihood(t, cited_s), t) for t, salience in found if t > lo_s]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= MIN_SCORE else None


def falls(env: Envelope, speech: bool) -> list[tuple[float, float]]:
    """(time, salience) of every point after which the stretch stays quiet for a while."""
    loud = env.level > LOUD_DB
    if speech:
        loud &= smooth(env.speech, 3) >= SPEECH_OFF
    quiet = SPEECH_QUIET if speech else QUIET
    if len(loud) <= quiet + MEASURE:
        return []
    stays_quiet = sliding_window_view(~loud, quiet).all(axis=1)
    edges = np.flatnonzero(loud[:-quiet] & stays_quiet[1:]) + 1
    out = []
    for frame in edges[edges >= MEASURE]:
        drop = float(np.mean(env.level[frame - MEASURE : frame]) - np.mean(env.level[frame : frame + quiet]))
        out.append((env.time(frame), float(np.clip((drop - LOUD_DB) / 12.0, 0.05, 1.0))))
    return out
