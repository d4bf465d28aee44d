"""Where each time-anchored reasoning step lands on the waveform, and which one is under the mouse.

A step citing a moment becomes a vertical line, one citing a range a shaded region; both get a
chip at their start saying which step and when ("3 · 1:05"). Reasoning steps' chips stack down
from the top of the wave and the answer's up from its foot, so a time the answer repeats never
lands on the reasoning step that cited it; a chip with no free row at its place is left out. A step snapped to its event (``engine.grounding``) is drawn
over the event's extent instead, with a faint tick where the model cited it. Steps that cite a
time past the end of the recording are clamped to the end and flagged ``past_end`` so the
painter can show the model's error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QRectF

from engine.events import Step
from engine.timefmt import clock
from ui.waveform.view import Viewport

HIT_PX = 4.0  # how close to a moment's line the mouse must be to touch it
FLAG_ROWS = 3  # flags that would overlap move down a row; past the last row they are left out
FLAG_PAD_PX = 6.0  # text padding inside a chip (its ends are round)
FLAG_GAP_PX = 3.0  # chips in one row keep this far apart
PAST_END_PX = 6.0  # width of the hatched stripe marking a time past the end


@dataclass(frozen=True)
class Mark:
    index: int  # the step's own index (what the signals carry)
    label: str  # the text of its chip: which step and when
    x0: float  # logical x of its start (clamped to the recording's end)
    x1: float  # logical x of its end; == x0 for a moment
    moment: bool
    past_end: bool  # the step is flagged: the model cited a time it did not hear
    clamped: bool  # the cited time lies beyond the recording: drawn at its end
    flag: QRectF | None  # None when there was no room for it
    raw_x: float | None = None  # a snapped step: where the model cited it
    answer: bool = False  # a time the answer cites (its chip sits in the answer's lane)

    def contains_x(self, x: float) -> bool:
        if self.moment or self.x1 - self.x0 < 2 * HIT_PX:
            return abs(x - (self.x0 + self.x1) / 2) <= HIT_PX
        return self.x0 <= x <= self.x1


def layout_marks(
    steps: Iterable[Step],
    view: Viewport,
    top: float,
    flag_height: float,
    text_width: Callable[[str], float],
    bottom: float | None = None,
) -> list[Mark]:
    """Marks for the anchored steps that show in ``view``: reasoning chips in rows down from
    ``top``, the answer's up from ``bottom`` (or in the rows below the reasoning's without it)."""
    marks: list[Mark] = []
    foot = bottom if bottom is not None else top + (2 * FLAG_ROWS) * flag_height
    lanes = {False: _Lane(top, flag_height), True: _Lane(foot - flag_height, -flag_height)}
    spans = sorted((_span(s), s.index, s) for s in steps if s.start_s is not None)
    answers = 0
    for (start, end), _, step in spans:
        answer = step.source == "answer"
        answers += answer
        clamped = max(start, end) > view.duration
        past_end = step.past_end or clamped
        start, end = min(start, view.duration), min(max(end, start), view.duration)
        x0, x1 = view.x_of(start), view.x_of(end)
        label = f"{f'A{answers}' if answer else step.index + 1} · {clock(start, hours=view.duration >= 3600)}"
        width = text_width(label) + 2 * FLAG_PAD_PX
        if x1 < -width or x0 > view.width + width:
            continue
        flag = lanes[answer].place(min(x0, view.width - width), width)  # at the very end: opens leftwards
        raw_x = view.x_of(min(step.start_s, view.duration)) if step.snapped else None
        moment = end == start or x1 - x0 < 2 * HIT_PX  # too narrow to shade at this zoom: a line
        marks.append(Mark(step.index, label, x0, x1, moment, past_end, clamped, flag, raw_x, answer))
    return marks


class _Lane:
    """Rows of chips from ``first`` on, each ``step`` further (down, or up when negative)."""

    def __init__(self, first: float, step: float):
        self.first, self.step = first, step
        self.row_ends = [float("-inf")] * FLAG_ROWS

    def place(self, left: float, width: float) -> QRectF | None:
        row = next((r for r, right in enumerate(self.row_ends) if right + FLAG_GAP_PX <= left), None)
        if row is None:
            return None
        self.row_ends[row] = left + width
        return QRectF(left, self.first + row * self.step, width, abs(self.step))


def _span(step: Step) -> tuple[float, float]:
    """Where a step is drawn: its snapped event, else the moment or range it cites."""
    if step.snapped:
        return step.snapped_start_s, max(step.snapped_end_s or step.snapped_start_s, step.snapped_start_s)
    return step.start_s, step.end_s if step.end_s is not None else step.start_s


def flag_at(marks: Iterable[Mark], x: float, y: float) -> Mark | None:
    return next((m for m in marks if m.flag is not None and m.flag.contains(x, y)), None)


def mark_at(marks: list[Mark], x: float, y: float) -> Mark | None:
    """The mark under (x, y): a flag first, then the nearest moment, then the narrowest region."""
    flagged = flag_at(marks, x, y)
    if flagged is not None:
        return flagged
    touching = [m for m in marks if m.contains_x(x)]
    moments = [m for m in touching if m.moment or m.x1 - m.x0 < 2 * HIT_PX]
    if moments:
        return min(moments, key=lambda m: abs(x - (m.x0 + m.x1) / 2))
    return min(touching, key=lambda m: m.x1 - m.x0, default=None)


def is_line_hit(mark: Mark, x: float, y: float) -> bool:
    """A click that picks the step (its flag or a moment's line) rather than seeking inside a region."""
    on_flag = mark.flag is not None and mark.flag.contains(x, y)
    return on_flag or (mark.contains_x(x) and (mark.moment or mark.x1 - mark.x0 < 2 * HIT_PX))
