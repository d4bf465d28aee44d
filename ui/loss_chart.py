"""A live loss curve: training and held-out loss against the step, painted by hand.

PySide6-Essentials has no QtCharts, and two polylines with axes need none: points arrive
one per step (``add_train``) and one per evaluation (``add_eval``); a resumed run first
drops the points after its checkpoint (``truncate``), since those steps are taken again.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

TRAIN_COLOR = QColor("#3b82f6")
EVAL_COLOR = QColor("#f97316")
MARGINS = (48, 12, 16, 28)  # left, top, right, bottom: room for the tick labels
EMPTY_TEXT = "The loss curve appears here once training starts."


class LossChart(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.train_points: list[tuple[int, float]] = []
        self.eval_points: list[tuple[int, float]] = []
        self.total_steps = 0
        self.setAccessibleName("Loss curve")
        self.setToolTip("Training loss (blue) and held-out loss (orange) at each step")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(140)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(560, 220)

    # -- data ----------------------------------------------------------------------------------
    def set_total(self, steps: int) -> None:
        self.total_steps = steps
        self.update()

    def add_train(self, step: int, loss: float) -> None:
        if math.isfinite(loss):
            self.train_points.append((step, loss))
            self.update()

    def add_eval(self, step: int, loss: float) -> None:
        if math.isfinite(loss):
            self.eval_points.append((step, loss))
            self.update()

    def truncate(self, step: int) -> None:
        """Forget the points after ``step`` (a run resumed from its checkpoint takes them again)."""
        self.train_points = [p for p in self.train_points if p[0] <= step]
        self.eval_points = [p for p in self.eval_points if p[0] <= step]
        self.update()

    def clear(self) -> None:
        self.train_points, self.eval_points, self.total_steps = [], [], 0
        self.update()

    # -- painting ------------------------------------------------------------------------------
    def plot_rect(self) -> QRectF:
        left, top, right, bottom = MARGINS
        return QRectF(left, top, max(1, self.width() - left - right), max(1, self.height() - top - bottom))

    def ranges(self) -> tuple[float, float]:
        """(last step shown, highest loss shown)."""
        points = self.train_points + self.eval_points
        steps = max([self.total_steps, *(s for s, _ in points)], default=0) or 1
        top = max((loss for _, loss in points), default=1.0)
        return float(steps), _nice_ceiling(top)

    def to_pixels(self, step: float, loss: float) -> QPointF:
        rect, (steps, top) = self.plot_rect(), self.ranges()
        return QPointF(rect.left() + rect.width() * step / steps, rect.bottom() - rect.height() * loss / top)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not (self.train_points or self.eval_points or self.total_steps):
            painter.setPen(self.palette().color(self.foregroundRole()))
            painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter, EMPTY_TEXT)
            painter.end()
            return
        self._paint_axes(painter)
        self._paint_curve(painter, self.train_points, TRAIN_COLOR, dots=False)
        self._paint_curve(painter, self.eval_points, EVAL_COLOR, dots=True)
        self._paint_legend(painter)
        painter.end()

    def _paint_axes(self, painter: QPainter) -> None:
        rect, (steps, top) = self.plot_rect(), self.ranges()
        text = self.palette().color(self.foregroundRole())
        grid = QColor(text)
        grid.setAlpha(40)
        for i in range(5):
            y = rect.bottom() - rect.height() * i / 4
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.setPen(text)
            painter.drawText(
                QRectF(0, y - 8, MARGINS[0] - 6, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{top * i / 4:.2g}",
            )
        for step in step_ticks(steps):
            x = rect.left() + rect.width() * step / steps
            painter.drawText(
                QRectF(x - 30, rect.bottom() + 4, 60, 16), Qt.AlignmentFlag.AlignHCenter, str(step)
            )
        painter.setPen(QPen(text, 1))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.drawLine(rect.bottomLeft(), rect.topLeft())

    def _paint_curve(
        self, painter: QPainter, points: list[tuple[int, float]], color: QColor, dots: bool
    ) -> None:
        if not points:
            return
        path = QPainterPath(self.to_pixels(*points[0]))
        for point in points[1:]:
            path.lineTo(self.to_pixels(*point))
        painter.setPen(QPen(color, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        if dots or len(points) == 1:
            painter.setBrush(color)
            for point in points:
                painter.drawEllipse(self.to_pixels(*point), 3, 3)

    def _paint_legend(self, painter: QPainter) -> None:
        rect = self.plot_rect()
        x = rect.right() - 150
        for i, (label, color) in enumerate((("training loss", TRAIN_COLOR), ("held-out loss", EVAL_COLOR))):
            y = rect.top() + 6 + 16 * i
            painter.setPen(QPen(color, 3))
            painter.drawLine(QPointF(x, y), QPointF(x + 18, y))
            painter.setPen(self.palette().color(self.foregroundRole()))
            painter.drawText(QPointF(x + 24, y + 4), label)


def step_ticks(steps: float) -> list[int]:
    """Whole, round, distinct steps from 0 to ``steps``, about five of them."""
    every = max(1, math.ceil(_nice_ceiling(steps / 4)))
    return list(range(0, int(steps) + 1, every))


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above ``value``: round numbers on the loss axis."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)
