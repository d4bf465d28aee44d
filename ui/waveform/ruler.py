"""The time ruler: tick spacing that suits every zoom, labels as h:mm:ss, m:ss or sub-second."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QColor, QPainter

from engine.timefmt import clock
from ui.waveform.labels import Labels
from ui.waveform.view import Viewport

# Tick spacings a person reads easily, in seconds: 1-2-5 below a second, then clock-friendly ones.
STEPS = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
)  # fmt: skip
MIN_MINOR_PX = 7.0  # closer minor ticks turn into a grey smear
LABEL_GAP_PX = 14.0  # free space after a label before the next major tick


@dataclass(frozen=True)
class Ticks:
    major: float  # seconds between labelled ticks
    minor: float  # seconds between small ticks (== major when none fit)
    decimals: int  # digits after the seconds in labels
    hours: bool  # labels carry an hour field


def choose_ticks(px_per_second: float, label_px: float, duration: float) -> Ticks:
    """The finest spacing whose labels (``label_px`` wide) do not collide, and its minor ticks."""
    major = next((s for s in STEPS if s * px_per_second >= label_px), STEPS[-1])
    minor = next(
        (s for s in STEPS if s < major and s * px_per_second >= MIN_MINOR_PX and _divides(s, major)),
        major,
    )
    decimals = max(0, -math.floor(math.log10(major) + 1e-9)) if major < 1 else 0
    return Ticks(major, minor, decimals, hours=duration >= 3600)


def tick_times(start: float, end: float, step: float) -> list[float]:
    """Multiples of ``step`` within [start, end], computed from integers so they never drift."""
    first, last = math.ceil(start / step - 1e-9), math.floor(end / step + 1e-9)
    return [k * step for k in range(first, last + 1)]


def _divides(small: float, big: float) -> bool:
    ratio = big / small
    return abs(ratio - round(ratio)) < 1e-6


class Ruler:
    """Paints the ruler strip: a background, minor and major ticks, and time labels."""

    def __init__(self) -> None:
        self.labels = Labels()

    def draw(self, painter: QPainter, view: Viewport, rect: QRectF, background: QColor, ink: QColor) -> None:
        painter.fillRect(rect, background)
        if view.span <= 0:
            return
        self.labels.set_font(painter.font())
        hours = view.duration >= 3600
        sample = "0:00:00.000" if hours else "00:00.000"
        label_px = self.labels.width(sample) + LABEL_GAP_PX
        ticks = choose_ticks(view.width / view.span, label_px, view.duration)
        top, bottom = rect.top(), rect.bottom()
        faint = QColor(ink)
        faint.setAlphaF(0.45)
        painter.setPen(faint)
        lines = [QLineF(rect.left(), bottom - 0.5, rect.right(), bottom - 0.5)]
        if ticks.minor < ticks.major:
            minor_xs = [view.x_of(t) for t in tick_times(view.start, view.end, ticks.minor)]
            lines += [QLineF(x, bottom - 4, x, bottom) for x in minor_xs]
        painter.drawLines(lines)
        painter.setPen(ink)
        majors = tick_times(view.start - ticks.major, view.end, ticks.major)  # one starts left of the view
        major_xs = [view.x_of(t) for t in majors]
        painter.drawLines([QLineF(x, top + 2, x, bottom) for x in major_xs])
        text_top = top + (rect.height() - 4 - self.labels.height) / 2
        for t, x in zip(majors, major_xs, strict=True):
            label = self.labels.text(clock(t, ticks.decimals, hours))
            painter.drawStaticText(QPointF(x + 3, text_top), label)
