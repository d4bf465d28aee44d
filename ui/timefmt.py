"""Times as people read them in the window."""

from __future__ import annotations


def clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def anchor_label(start_s: float | None, end_s: float | None) -> str:
    if start_s is None:
        return ""
    if end_s is None or end_s == start_s:
        return f"[{clock(start_s)}]"
    return f"[{clock(start_s)}–{clock(end_s)}]"
