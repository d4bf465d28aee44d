"""Which candidate a cited time means: salience weighed against distance, and the step's words.

A model that writes [01:05] means "somewhere in that second, give or take its error": the
likelihood of a start is a Gaussian of ``SPREAD_S`` around the middle of the cited second (around
the time itself when it is cited with a fraction, [01:05.5]). Salience saturates early: any
clear event is as good as any other, so that distance decides between events and salience only
between an event and the background's flicker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from engine.grounding.candidates import Candidate
from engine.grounding.hints import HIT, SOUND, SPEECH, TONE

SPREAD_S = 1.0
TAIL_S, TAIL = 2.5, 0.2  # models sometimes miss by seconds: a wider Gaussian carries this share
MIN_SCORE = 0.2  # below this nothing convincing is near: the cited time stays
OTHER_KIND = 0.1  # weight of a speech start for a sound the text names, and the reverse
ANIMAL_AS_SPEECH = 0.4  # … for a sound of no clear sort (a bark): silero takes some for voices
OTHER_SORT = 0.25  # weight of a ringing sound for a hit the text names, and the reverse
CONTINUES = 0.5  # weight of an onset that continues an event (a word in a phrase, a second knock)


REACH_S = next(d / 100 for d in range(1000) if (1 - TAIL) * math.exp(-0.5 * (d / 100 / SPREAD_S) ** 2)
                + TAIL * math.exp(-0.5 * (d / 100 / TAIL_S) ** 2) < MIN_SCORE)  # fmt: skip


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    confidence: float


def likelihood(seconds: float, cited_s: float) -> float:
    """How likely an event starting at ``seconds`` is the one cited at ``cited_s``."""
    middle = cited_s + 0.5 if float(cited_s).is_integer() else cited_s
    near = math.exp(-0.5 * ((seconds - middle) / SPREAD_S) ** 2)
    return (1 - TAIL) * near + TAIL * math.exp(-0.5 * ((seconds - middle) / TAIL_S) ** 2)


def reach(cited_s: float) -> tuple[float, float]:
    """The times a start can lie at and still score ``MIN_SCORE`` (from the cited second's middle)."""
    middle = cited_s + 0.5 if float(cited_s).is_integer() else cited_s
    return middle - REACH_S, middle + REACH_S


def score(candidate: Candidate, cited_s: float, kind: str | None) -> float:
    weight = fit(candidate, kind) * (CONTINUES if candidate.continues else 1.0)
    return candidate.salience * weight * likelihood(candidate.start_s, cited_s)


def fit(candidate: Candidate, kind: str | None) -> float:
    """How well a candidate matches the kind of event the step's text names (1: no reason to doubt)."""
    if kind is None:
        return 1.0
    if (kind == SPEECH) != candidate.speech:
        return ANIMAL_AS_SPEECH if kind == SOUND else OTHER_KIND
    if kind == HIT and not candidate.decays or kind == TONE and candidate.decays:
        return OTHER_SORT
    return 1.0


def choose(found: Sequence[Candidate], cited_s: float, kind: str | None) -> Choice | None:
    """The best candidate, with a 0–1 confidence, or None when none scores ``MIN_SCORE``."""
    ranked = sorted(((score(c, cited_s, kind), c) for c in found), key=lambda pair: -pair[0])
    if not ranked or ranked[0][0] < MIN_SCORE:
        return None
    best, candidate = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    return Choice(candidate, round(best * (1 - 0.5 * runner_up / best), 3))
