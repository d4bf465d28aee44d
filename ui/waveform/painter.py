"""Painting the waveform and the step marks (the widget decides when, this module decides how)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen

from engine.audio.peaks import PeaksPyramid
from ui.waveform.colors import Colors
from ui.waveform.labels import Labels
from ui.waveform.markers import PAST_END_PX, Mark
from ui.waveform.raster import Shade, column_colors, wave_pixels
from ui.waveform.view import Viewport

RAW_TICK_PX = 10.0  # height of the tick at a snapped step's cited time


def draw_wave(
    painter: QPainter,
    peaks: PeaksPyramid,
    view: Viewport,
    rect: QRectF,
    colors: Colors,
    ratio: float,
    shades: Iterable[Shade] = (),
) -> None:
    """The min/max envelope of the visible time and the regions' shading, in one image.

    One span per device-pixel column; ``shades`` are in logical pixels.
    """
    x_end = min(view.x_of(peaks.duration), rect.width())
    columns, rows = int(np.ceil(x_end * ratio)), max(round(rect.height() * ratio), 1)
    if columns <= 0:
        return
    mins, maxs = peaks.range(view.start, view.time_at(columns / ratio), columns)
    device_shades = [(x0 * ratio, x1 * ratio, color) for x0, x1, color in shades]
    wave, background = column_colors(columns, colors.wave, colors.background, device_shades)
    pixels = wave_pixels(mins, maxs, rows, wave, background)
    image = QImage(pixels.data, columns, rows, columns * 4, QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(ratio)
    painter.drawImage(rect.topLeft(), image)  # drawn at once: ``pixels`` outlives the image's use


def region_shades(marks: Iterable[Mark], colors: Colors, hot: set[int]) -> list[Shade]:
    """The shading of each range step, deeper for the ``hot`` (hovered or highlighted) ones."""
    shades = []
    for mark in marks:
        if not mark.moment:
            color = _region_color(colors, mark.past_end, mark.index in hot)
            shades.append((mark.x0, max(mark.x1, mark.x0 + 1), color))
    return shades


def draw_marks(
    painter: QPainter,
    marks: list[Mark],
    rect: QRectF,
    colors: Colors,
    hot: set[int],
    labels: Labels,
    end_x: float,
) -> None:
    """Lines, then flags on top (so numbers stay readable); ``hot`` marks stand out.

    Regions are shaded by ``draw_wave`` (see ``region_shades``). Lines are batched per pen: one
    drawLines call each instead of one call per mark.
    """
    top, bottom = rect.top(), rect.bottom()
    if any(m.clamped for m in marks):
        _draw_past_end(painter, end_x, rect, colors)
    batches: dict[tuple[bool, bool, bool], list[QLineF]] = {}  # (past end, hot, answer) → lines
    for mark in marks:
        is_hot = mark.index in hot
        if mark.moment or is_hot:  # a region shows its edges only when emphasised
            xs = (mark.x0,) if mark.moment else (mark.x0, mark.x1)
            key = (mark.past_end, is_hot, mark.answer)
            batches.setdefault(key, []).extend(QLineF(x, top, x, bottom) for x in xs)
    for (past_end, is_hot, answer), lines in batches.items():
        pen = QPen(_mark_color(colors, past_end, answer), 2.0 if is_hot else 1.0)
        if answer:
            pen.setStyle(Qt.PenStyle.DashLine)  # told apart from a reasoning step's line without colour
        painter.setPen(pen)
        painter.drawLines(lines)
    _draw_raw_ticks(painter, marks, rect, colors)
    for mark in marks:
        if mark.flag is not None:
            _draw_flag(painter, mark, colors, labels, mark.index in hot)


def _draw_raw_ticks(painter: QPainter, marks: list[Mark], rect: QRectF, colors: Colors) -> None:
    """A faint tick at the foot of the wave where the model cited each snapped step."""
    ticks = [
        QLineF(m.raw_x, rect.bottom() - RAW_TICK_PX, m.raw_x, rect.bottom())
        for m in marks
        if m.raw_x is not None
    ]
    if ticks:
        painter.setPen(QPen(colors.raw_tick, 1.0))
        painter.drawLines(ticks)


def _region_color(colors: Colors, past_end: bool, hot: bool) -> QColor:
    if past_end:
        return colors.error_region_hot if hot else colors.error_region
    return colors.region_hot if hot else colors.region


def _draw_past_end(painter: QPainter, end_x: float, rect: QRectF, colors: Colors) -> None:
    """A hatched stripe just before the end: the model cited a time the recording does not have."""
    stripe = QRectF(end_x - PAST_END_PX, rect.top(), PAST_END_PX, rect.height())
    painter.fillRect(stripe, QBrush(colors.error, Qt.BrushStyle.BDiagPattern))
    painter.setPen(QPen(colors.error, 2))
    painter.drawLine(QLineF(end_x - 1, rect.top(), end_x - 1, rect.bottom()))


def _mark_color(colors: Colors, past_end: bool, answer: bool) -> QColor:
    return colors.error if past_end else colors.answer if answer else colors.step


def _draw_flag(painter: QPainter, mark: Mark, colors: Colors, labels: Labels, hot: bool) -> None:
    """A chip: a pill in the step's colour, its text in the ink that contrasts with it."""
    flag = mark.flag
    fill = _mark_color(colors, mark.past_end, mark.answer)
    ink = QColor("#000000") if fill.lightness() > 140 else QColor("#ffffff")
    if hot:
        fill = fill.darker(130) if ink.lightness() > 128 else fill.lighter(130)
    painter.setPen(QPen(ink, 1.5) if hot else Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    radius = flag.height() / 2
    painter.drawRoundedRect(flag.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setPen(ink)
    x = flag.left() + (flag.width() - labels.width(mark.label)) / 2
    y = flag.top() + (flag.height() - labels.height) / 2
    painter.drawStaticText(QPointF(x, y), labels.text(mark.label))
