"""The waveform widget: a recording of any length with its reasoning steps, a ruler and a playhead.

The widget never touches audio: it draws a ``PeaksPyramid`` and reports what the user asks for
(``seek_requested``, ``play_pause_requested``, ``step_hovered``, ``step_clicked``); the app's
player moves the playhead with ``set_playhead``. Everything but the playhead and the focus frame
is painted once into a cached layer, so the ~30 playhead moves a second only repaint two thin
stripes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QLineF, QPointF, QRect, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QPinchGesture, QSizePolicy, QToolTip, QWidget

from engine.audio.peaks import PeaksPyramid
from engine.events import Step
from engine.timefmt import clock
from ui.timefmt import snap_note
from ui.waveform.colors import Colors
from ui.waveform.labels import Labels
from ui.waveform.markers import Mark, is_line_hit, layout_marks, mark_at
from ui.waveform.painter import draw_marks, draw_wave, region_shades
from ui.waveform.ruler import Ruler
from ui.waveform.view import Viewport

SKIP_S = 5.0  # ←/→
BIG_SKIP_S = 30.0  # Shift+←/→
KEY_ZOOM = 1.5  # + and − magnify by this much
WHEEL_ZOOM = 1.25  # per wheel notch (120 units)
WHEEL_PAN = 0.1  # fraction of the view panned per notch
PLAYHEAD_PX = 2.0
FOCUS_PX = 3.0
SHORTCUTS = (
    "Space: play or pause · Click: seek · ←/→: skip 5 s (Shift: 30 s) · "
    "+/− , wheel or pinch: zoom · Drag or Shift+wheel: pan · Home/End: start/end"
)


class WaveformView(QWidget):
    play_pause_requested = Signal()
    seek_requested = Signal(float)  # seconds
    step_hovered = Signal(object)  # a step index, or None when the mouse leaves every step
    step_clicked = Signal(int)  # a step index
    view_changed = Signal(float, float)  # visible start and end, seconds
    playhead_moved = Signal(float)  # seconds: the playback bar shows the time
    duration_changed = Signal(float)  # seconds; 0 with no recording

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._view = Viewport()
        self._peaks: PeaksPyramid | None = None
        self._steps: list[Step] = []
        self._marks: list[Mark] | None = None  # laid out lazily for the current view
        self._playhead = 0.0
        self._highlighted: int | None = None  # set by the app (hover in the step list)
        self._hovered: int | None = None  # under the mouse here
        self._layer: QPixmap | None = None  # everything but the playhead, for the current state
        self._colors = Colors.from_palette(self.palette())
        self._ruler = Ruler()
        self._flag_labels = Labels(self._flag_font())
        self._press: QPointF | None = None
        self._press_start = 0.0
        self._dragging = False
        self._described = ""
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(240, 90)
        self.grabGesture(Qt.GestureType.PinchGesture)
        self.setAccessibleName("Waveform")
        self.setToolTip(SHORTCUTS)
        self._describe()

    # ----- public API -------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(800, 160)

    @property
    def duration(self) -> float:
        return self._peaks.duration if self._peaks is not None else 0.0

    @property
    def playhead(self) -> float:
        return self._playhead

    @property
    def highlighted_step(self) -> int | None:
        return self._highlighted

    @property
    def hovered_step(self) -> int | None:
        return self._hovered

    def visible_range(self) -> tuple[float, float]:
        return self._view.start, self._view.end

    def x_of(self, seconds: float) -> float:
        """The logical x where ``seconds`` is drawn (may lie outside the widget)."""
        return self._view.x_of(seconds)

    def time_at(self, x: float) -> float:
        """The time drawn at logical ``x``."""
        return self._view.time_at(x)

    @Slot(object)
    def set_peaks(self, peaks: PeaksPyramid | None) -> None:
        """Show a recording (all of it) or nothing (None).

        Peaks of the same length (the same recording, e.g. now with its samples for detail) keep
        the current zoom and position.
        """
        same_length = peaks is not None and self._peaks is not None and peaks.duration == self.duration
        self._peaks = peaks
        self._view.width = max(self.width(), 1)
        if not same_length:
            self._view.reset(self.duration)
        self._playhead = min(self._playhead, self.duration)
        self._view_changed()
        self.duration_changed.emit(self.duration)
        self.playhead_moved.emit(self._playhead)

    @Slot(list)
    @property
    def steps(self) -> list[Step]:
        return list(self._steps)

    def set_steps(self, steps: list[Step]) -> None:
        self._steps = list(steps)
        self._set_hovered(None)
        self._invalidate()

    @Slot()
    def clear(self) -> None:
        self._steps, self._highlighted, self._playhead = [], None, 0.0
        self._set_hovered(None)
        self.set_peaks(None)

    @Slot(float)
    def set_playhead(self, seconds: float) -> None:
        """Move the playhead (the player calls this ~30×/s); the view follows a visible playhead."""
        seconds = min(max(seconds, 0.0), self.duration)
        old = self._playhead
        self._playhead = seconds
        self.playhead_moved.emit(seconds)
        was_visible = self._view.start <= old <= self._view.end
        if was_visible and not self._dragging and self._view.show(seconds):
            self._view_changed()
            return
        for t in (old, seconds):
            x = round(self._view.x_of(t))  # the line and its 10-pixel head, with a margin
            self.update(QRect(x - 7, 0, 15, self.height()))
        self._describe()

    @Slot(object)
    def highlight_step(self, index: int | None) -> None:
        """Emphasise a step's mark (the app calls this while the step list is hovered)."""
        if index != self._highlighted:
            self._highlighted = index
            self._invalidate()

    @Slot(float)
    def show_time(self, seconds: float) -> None:
        """Scroll so that ``seconds`` is in view (zoom unchanged)."""
        if self._view.show(seconds):
            self._view_changed()

    def set_visible_range(self, start: float, end: float) -> None:
        self._view.set_range(start, end)
        self._view_changed()

    def zoom_by(self, factor: float, x: float | None = None) -> None:
        """Magnify by ``factor`` around logical ``x`` (default: the playhead if shown, else the middle)."""
        if x is None:
            playhead_x = self._view.x_of(self._playhead)
            x = playhead_x if 0 <= playhead_x <= self.width() else self.width() / 2
        self._view.zoom_at(factor, x)
        self._view_changed()

    def zoom_to_fit(self) -> None:
        self._view.reset(self.duration)
        self._view_changed()

    # ----- state changes ----------------------------------------------------------------------

    def _invalidate(self) -> None:
        self._layer = None
        self._marks = None
        self.update()

    def _view_changed(self) -> None:
        self._invalidate()
        self.view_changed.emit(self._view.start, self._view.end)
        self._describe()

    def _set_hovered(self, index: int | None) -> None:
        if index != self._hovered:
            self._hovered = index
            self._layer = None
            self.update()
            self.step_hovered.emit(index)

    def _describe(self) -> None:
        """Keep the accessible description current (only when its text changes: cheap at 30 Hz)."""
        if self._peaks is None:
            text = "No recording."
        else:
            hours = self.duration >= 3600
            text = (
                f"Recording of {clock(self.duration, hours=hours)}; showing "
                f"{clock(self._view.start, hours=hours)} to {clock(self._view.end, hours=hours)} "
                f"(zoom {self._view.zoom:.3g}×); playhead at {clock(self._playhead, hours=hours)}."
            )
        if text != self._described:
            self._described = text
            self.setAccessibleDescription(text)

    # ----- geometry ---------------------------------------------------------------------------

    def _ruler_height(self) -> float:
        return QFontMetricsF(self.font()).height() + 8

    def _flag_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
        return font

    def _wave_rect(self) -> QRectF:
        top = self._ruler_height()
        return QRectF(0, top, self.width(), max(self.height() - top, 1))

    def _current_marks(self) -> list[Mark]:
        if self._marks is None:
            if self._peaks is None:
                self._marks = []
            else:
                labels = self._flag_labels
                wave = self._wave_rect()
                self._marks = layout_marks(self._steps, self._view, wave.top() + 2, labels.height + 4,
                                           labels.width, bottom=wave.bottom() - 2)  # fmt: skip
        return self._marks

    # ----- painting ---------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._current_layer())
        if self._peaks is not None:
            x = self._view.x_of(self._playhead)
            painter.setPen(QPen(self._colors.playhead, PLAYHEAD_PX))
            painter.drawLine(QLineF(x, 0, x, self.height()))
            painter.setBrush(self._colors.playhead)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 6)]))
        if self.hasFocus():  # a clear outline: 3 px in the highlight colour, inside the edge
            painter.setPen(QPen(self._colors.focus, FOCUS_PX))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            inset = FOCUS_PX / 2
            painter.drawRect(QRectF(self.rect()).adjusted(inset, inset, -inset, -inset))
        painter.end()

    def _current_layer(self) -> QPixmap:
        ratio = self.devicePixelRatioF()
        size = QSize(round(self.width() * ratio), round(self.height() * ratio))
        if self._layer is None or self._layer.size() != size:
            self._layer = QPixmap(size)
            self._layer.setDevicePixelRatio(ratio)
            painter = QPainter(self._layer)
            self._paint_layer(painter, ratio)
            painter.end()
        return self._layer

    def _paint_layer(self, painter: QPainter, ratio: float) -> None:
        colors, view = self._colors, self._view
        painter.fillRect(QRectF(self.rect()), colors.background)
        ruler = QRectF(0, 0, self.width(), self._ruler_height())
        wave = self._wave_rect()
        if self._peaks is None:  # an empty band: a ruler of milliseconds over nothing would only puzzle
            painter.fillRect(ruler, colors.ruler)
            painter.setPen(colors.placeholder)
            painter.drawText(wave, Qt.AlignmentFlag.AlignCenter, "No recording")
            return
        self._ruler.draw(painter, view, ruler, colors.ruler, colors.ruler_ink)
        hot = {i for i in (self._highlighted, self._hovered) if i is not None}
        marks = self._current_marks()
        draw_wave(painter, self._peaks, view, wave, colors, ratio, region_shades(marks, colors, hot))
        painter.setFont(self._flag_labels.font)
        draw_marks(painter, marks, wave, colors, hot, self._flag_labels, view.x_of(self.duration))

    # ----- events -----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        self._view.resize(event.size().width())
        self._view_changed()
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._colors = Colors.from_palette(self.palette())
            self._invalidate()
        elif event.type() == QEvent.Type.FontChange:
            self._flag_labels.set_font(self._flag_font())
            self._invalidate()
        super().changeEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Gesture:
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                center = self.mapFromGlobal(pinch.centerPoint().toPoint())
                self.zoom_by(pinch.scaleFactor(), center.x())
                event.accept()
                return True
        if event.type() == QEvent.Type.NativeGesture and (
            event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture
        ):
            self.zoom_by(1.0 + event.value(), event.position().x())
            return True
        if event.type() == QEvent.Type.ToolTip and self._hovered is not None:
            QToolTip.showText(event.globalPos(), self._step_tooltip(self._hovered), self)
            return True
        return super().event(event)

    def _step_tooltip(self, index: int) -> str:
        step = next((s for s in self._steps if s.index == index), None)
        if step is None:
            return SHORTCUTS
        note = "\n(This time is past the end of the recording.)" if step.past_end else ""
        snapped = f"\n{snap_note(step)}" if snap_note(step) else ""
        text = step.text if len(step.text) <= 300 else step.text[:299] + "…"
        return f"Step {index + 1}: {text}{snapped}{note}"

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt's name)
        if self._peaks is None:
            return
        delta, pixels = event.angleDelta(), event.pixelDelta()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if shift or abs(delta.x()) > abs(delta.y()):
            # Shift+wheel, or a horizontal scroll (touchpad, tilt wheel): pan.
            if not pixels.isNull() and not shift:
                move = -float(pixels.x())
            else:
                notches = (delta.y() or delta.x()) / 120
                move = -notches * WHEEL_PAN * self.width()
            self._view.pan_px(move)
            self._view_changed()
        elif delta.y():
            self.zoom_by(WHEEL_ZOOM ** (delta.y() / 120), event.position().x())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._press_start = self._view.start
            self._dragging = False
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        pos = event.position()
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            dx = pos.x() - self._press.x()
            if not self._dragging and abs(dx) >= QApplication.startDragDistance():
                self._dragging = True
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
            if self._dragging:
                self._view.start = self._press_start
                self._view.pan_px(-dx)
                self._view_changed()
            return
        self._hover(pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        if event.button() != Qt.MouseButton.LeftButton or self._press is None:
            return
        pos = event.position()
        if self._dragging:
            self.unsetCursor()
        elif self._peaks is not None:
            self._click(pos)
        self._press, self._dragging = None, False
        self._hover(pos)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        self._set_hovered(None)
        super().leaveEvent(event)

    def _hover(self, pos: QPointF) -> None:
        mark = (
            mark_at(self._current_marks(), pos.x(), pos.y()) if pos.y() >= self._wave_rect().top() else None
        )
        self._set_hovered(mark.index if mark is not None else None)
        if mark is not None:
            self.setCursor(
                Qt.CursorShape.PointingHandCursor
                if is_line_hit(mark, pos.x(), pos.y())
                else Qt.CursorShape.IBeamCursor
            )
        else:
            self.unsetCursor()

    def _click(self, pos: QPointF) -> None:
        """A click on a step's flag or moment picks the step; anywhere else seeks there."""
        mark = mark_at(self._current_marks(), pos.x(), pos.y())
        if mark is not None and pos.y() >= self._wave_rect().top() and is_line_hit(mark, pos.x(), pos.y()):
            self.step_clicked.emit(mark.index)
            return
        self.seek_requested.emit(min(max(self._view.time_at(pos.x()), 0.0), self.duration))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        key = event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_Space:
            self.play_pause_requested.emit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self._peaks is not None:
            skip = (BIG_SKIP_S if shift else SKIP_S) * (-1 if key == Qt.Key.Key_Left else 1)
            self.seek_requested.emit(min(max(self._playhead + skip, 0.0), self.duration))
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End) and self._peaks is not None:
            self.seek_requested.emit(0.0 if key == Qt.Key.Key_Home else self.duration)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(KEY_ZOOM)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_by(1 / KEY_ZOOM)
        elif key == Qt.Key.Key_0:
            self.zoom_to_fit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusInEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.update()
        super().focusOutEvent(event)
