"""Cited times as the window labels them."""

from __future__ import annotations

from engine.events import Step
from engine.timefmt import clock


def anchor_label(start_s: float | None, end_s: float | None) -> str:
    if start_s is None:
        return ""
    if end_s is None or end_s == start_s:
        return f"[{clock(start_s)}]"
    return f"[{clock(start_s)}–{clock(end_s)}]"


def snap_note(step: Step) -> str:
    """ "cited 01:05 · event starts 01:05.7" for a snapped step, what was found near the cited time
    otherwise; "" for a step that cites no time or was never snapped."""
    if step.start_s is None or step.confidence is None:
        return ""
    moment = step.end_s is None or step.end_s == step.start_s
    cited = clock(step.start_s) if moment else f"{clock(step.start_s)}–{clock(step.end_s)}"
    if not step.snapped:
        return f"cited {cited} · no clear event there: plays from the cited time"
    note = f"cited {cited} · event starts {clock(step.snapped_start_s, 1)}"
    return note if moment else f"{note}, ends {clock(step.snapped_end_s, 1)}"
