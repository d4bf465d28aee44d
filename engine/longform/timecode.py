"""Rewriting a window's times into the whole recording's."""

from __future__ import annotations

from engine.reasoning import find_anchors
from engine.timefmt import clock


def absolute_times(text: str, offset_s: float) -> str:
    """Every time ``text`` cites, counted from a window's start, rewritten from the recording's start."""
    pieces, last = [], 0
    for anchor in find_anchors(text):
        start, end = anchor.start_s + offset_s, anchor.end_s + offset_s
        cited = clock(start) if start == end else f"{clock(start)}–{clock(end)}"
        bracketed = text[: anchor.char_start].endswith("[") and text[anchor.char_end :].startswith("]")
        pieces += [text[last : anchor.char_start], cited if bracketed else f"[{cited}]"]
        last = anchor.char_end
    return "".join(pieces) + text[last:]
