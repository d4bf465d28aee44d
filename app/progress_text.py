"""Long work in words for the window: which stage, how many parts are done, and the time left.

A recording longer than the model hears at once (30 minutes for AF-Next) is answered part by
part, and every follow-up about it listens to all the parts again. ``PartsClock`` turns the
engine's ``Progress`` events into "2 of 6 parts done · about 3 min left", and remembers how long
the last part-by-part answer took, so the window can say what a follow-up will cost before it is
asked.
"""

from __future__ import annotations

import time

from engine.events import Progress, Stage, stage_label
from engine.model.fit import PUBLISHED_MAX_AUDIO_S

PREPARING = "Preparing the recording for the model"  # the window has read it already: not "Reading" twice
LONG_FOLLOW_UP_S = 60.0  # a follow-up expected to take longer than this is announced before it is asked


def duration_words(seconds: float) -> str:
    """``about 40 s``, ``about 3 min``, ``about 1 h 20 min``: a time left, rounded as people say it."""
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"


def heard_part_by_part(duration_s: float | None) -> bool:
    """Whether a recording this long is answered part by part (every follow-up too)."""
    return duration_s is not None and duration_s > PUBLISHED_MAX_AUDIO_S


class PartsClock:
    """Labels for one answer's progress, with a time left once a part is done."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._first_part_at: float | None = None  # when part 1 began
        self.last_long_answer_s: float | None = None  # how long the last part-by-part answer took

    def start(self) -> None:
        """A new answer begins."""
        self._first_part_at = None

    def label(self, event: Progress, asking: bool = True) -> str:
        if event.stage == Stage.DECODE_AUDIO and asking:
            return PREPARING
        if event.stage != Stage.WINDOWS or not event.total:
            return stage_label(event.stage)
        done, total = int(event.done), int(event.total)
        now = self._clock()
        if self._first_part_at is None:
            self._first_part_at = now
        if done == 0:
            return f"Listening part by part: part 1 of {total}…"
        if done >= total:
            return f"Listening part by part: all {total} parts heard, combining them…"
        left = (now - self._first_part_at) / done * (total - done)
        return f"Listening part by part: {done} of {total} parts done · {duration_words(left)} left"

    def finished(self, stats: dict) -> None:
        """An answer ended (or a stored one was reopened): a part-by-part one sets the estimate
        for the next follow-up, from its own ``total_s`` (ask to end) where it has one."""
        if stats.get("windows"):
            elapsed = self._clock() - self._first_part_at if self._first_part_at is not None else None
            self.last_long_answer_s = stats.get("total_s") or elapsed or self.last_long_answer_s
        self._first_part_at = None

    def forget(self) -> None:
        """Another conversation: its own answers make the estimate."""
        self.last_long_answer_s = self._first_part_at = None

    def follow_up_note(self, duration_s: float | None) -> str | None:
        """What a follow-up about a recording this long will cost, when that is long; else None."""
        if not heard_part_by_part(duration_s) or self.last_long_answer_s is None:
            return None
        if self.last_long_answer_s < LONG_FOLLOW_UP_S:
            return None
        return (
            "A follow-up listens to the whole recording again, part by part: "
            f"{duration_words(self.last_long_answer_s)}, as the last answer took."
        )
