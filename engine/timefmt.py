"""Times as people read them, the same everywhere: answers, steps, the ruler, the CLI."""

from __future__ import annotations


def clock(seconds: float, decimals: int = 0, hours: bool = False) -> str:
    """``01:02:03`` → ``1:02:03``, ``02:03``, ``02:03.25``: the hour field when asked for or needed.

    Minutes keep two digits so the app reads like the model's own citations (``[00:12]``).
    """
    scaled = round(max(seconds, 0.0) * 10**decimals)
    whole, fraction = divmod(scaled, 10**decimals)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    text = f"{h}:{m:02d}:{s:02d}" if hours or h else f"{m:02d}:{s:02d}"
    return f"{text}.{fraction:0{decimals}d}" if decimals else text
