"""Times as people read them, and rewriting a window's times into the whole recording's."""

from __future__ import annotations

from engine.reasoning import find_anchors


def clock(seconds: float) -> str:
    """``[h:]mm:ss`` — hours only when the recording has them."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


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
