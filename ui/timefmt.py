"""Cited times as the window labels them."""

from __future__ import annotations

from engine.timefmt import clock


def anchor_label(start_s: float | None, end_s: float | None) -> str:
    if start_s is None:
        return ""
    if end_s is None or end_s == start_s:
        return f"[{clock(start_s)}]"
    return f"[{clock(start_s)}–{clock(end_s)}]"
