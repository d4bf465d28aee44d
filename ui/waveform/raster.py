"""The waveform as pixels, computed with numpy: one pass for the whole view, no per-column calls.

A QPainter call per column costs ~5 µs of Python, ~10 ms for a 1920-pixel-wide view; translucent
region fills are spread by Qt over its thread pool, which on a busy machine waits for a free core.
Here the wave, the background and the step regions' shading become one opaque image instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PySide6.QtGui import QColor

Shade = tuple[float, float, QColor]  # device-pixel x0, x1 and a translucent colour laid over them


def wave_spans(
    mins: np.ndarray, maxs: np.ndarray, center: float, half: float
) -> tuple[np.ndarray, np.ndarray]:
    """Top and bottom rows of each column's span; neighbouring spans are joined so no gap shows."""
    top = np.floor(center - np.clip(maxs, -1, 1) * half)
    bottom = np.ceil(center - np.clip(mins, -1, 1) * half)
    # A column entirely below (above) the previous one reaches up (down) to it.
    joined_top, joined_bottom = top.copy(), bottom.copy()
    joined_top[1:] = np.minimum(top[1:], bottom[:-1])
    joined_bottom[1:] = np.maximum(bottom[1:], top[:-1])
    return joined_top, joined_bottom


def column_colors(
    columns: int, wave: QColor, background: QColor, shades: Iterable[Shade] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Opaque ARGB32 wave and background colour of each column, with the shades blended over both."""
    rgb = np.empty((2, 3, columns), np.float32)  # [wave, background] × [r, g, b] × column
    rgb[0] = np.array(wave.getRgb()[:3], np.float32)[:, None]
    rgb[1] = np.array(background.getRgb()[:3], np.float32)[:, None]
    for x0, x1, color in shades:
        a = int(np.clip(np.floor(x0), 0, columns))
        b = int(np.clip(max(np.ceil(x1), a + 1), 0, columns))
        alpha = color.alphaF()
        tint = np.array(color.getRgb()[:3], np.float32)[None, :, None] * alpha
        rgb[:, :, a:b] = rgb[:, :, a:b] * (1 - alpha) + tint
    channels = np.rint(rgb).astype(np.uint32)
    packed = 0xFF000000 | (channels[:, 0] << 16) | (channels[:, 1] << 8) | channels[:, 2]
    return packed[0], packed[1]


def wave_pixels(
    mins: np.ndarray, maxs: np.ndarray, rows: int, wave: np.ndarray, background: np.ndarray
) -> np.ndarray:
    """ARGB32 pixels, ``rows``×``len(mins)``: each column's span in its wave colour on its background.

    ``wave`` and ``background`` are per-column colours (or one colour each). int16 compares
    are the cheapest way numpy has to fill the spans.
    """
    top, bottom = wave_spans(mins, maxs, rows / 2, rows / 2 - 1)
    y = np.arange(rows, dtype=np.int16)[:, None]
    inside = (y >= top.astype(np.int16)) & (y <= bottom.astype(np.int16))
    return np.where(inside, wave, background).astype(np.uint32, copy=False)
