"""The waveform widget: seeking, zooming, panning, keys, step marks and what it paints."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPalette, QPointingDevice, QWheelEvent
from PySide6.QtWidgets import QApplication

from engine.audio.peaks import PeaksPyramid
from engine.events import Step
from engine.timefmt import clock
from ui.waveform import WaveformView
from ui.waveform.colors import Colors
from ui.waveform.ruler import choose_ticks, tick_times
from ui.waveform.view import Viewport

RATE = 16000
WIDTH, HEIGHT = 600, 200
LOUD_UNTIL = 30.0  # the test recording is loud for 30 s, then silent for 30 s


@pytest.fixture(scope="module")
def peaks() -> PeaksPyramid:
    rng = np.random.default_rng(0)
    samples = np.zeros(60 * RATE, np.float32)
    samples[: int(LOUD_UNTIL * RATE)] = np.clip(rng.standard_normal(int(LOUD_UNTIL * RATE)) * 0.5, -0.9, 0.9)
    return PeaksPyramid.compute(samples, RATE)


@pytest.fixture
def view(qtbot, peaks) -> WaveformView:
    widget = WaveformView()
    qtbot.addWidget(widget)
    widget.resize(WIDTH, HEIGHT)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_peaks(peaks)
    return widget


def image_of(widget: WaveformView) -> QImage:
    return widget.grab().toImage()


def wave_y(widget: WaveformView, fraction: float) -> int:
    """A row inside the wave area: 0 is its top, 1 its bottom."""
    area = widget._wave_rect()
    return int(area.top() + fraction * area.height())


def move(widget: WaveformView, x: float, y: float) -> None:
    event = QMouseEvent(
        QEvent.Type.MouseMove, QPointF(x, y), QPointF(widget.mapToGlobal(QPoint(int(x), int(y)))),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def wheel(widget: WaveformView, x: float, dy: int = 0, dx: int = 0, modifiers=Qt.KeyboardModifier.NoModifier):
    pos = QPointF(x, HEIGHT / 2)
    event = QWheelEvent(
        pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(), QPoint(dx, dy), Qt.MouseButton.NoButton,
        modifiers, Qt.ScrollPhase.NoScrollPhase, False, Qt.MouseEventSource.MouseEventNotSynthesized,
        QPointingDevice.primaryPointingDevice(),
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def same_color(a: QColor, b: QColor, tolerance: int = 8) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


# ----- seeking, zooming, panning ----------------------------------------------------------------


def test_click_seeks_to_the_time_under_the_mouse(qtbot, view):
    assert view.time_at(300) == pytest.approx(30.0)
    assert view.x_of(15.0) == pytest.approx(150.0)
    with qtbot.waitSignal(view.seek_requested) as seek:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(300, wave_y(view, 0.8)))
    one_px = 60.0 / WIDTH
    assert seek.args[0] == pytest.approx(30.0, abs=one_px)


def test_wheel_zooms_around_the_time_under_the_cursor(view):
    before = view.time_at(200)
    wheel(view, 200, dy=120)
    start, end = view.visible_range()
    assert end - start == pytest.approx(60 / 1.25)
    assert view.time_at(200) == pytest.approx(before, abs=1e-9)
    for _ in range(3):
        wheel(view, 450, dy=120)
    anchor = view.time_at(450)
    wheel(view, 450, dy=-120)
    assert view.time_at(450) == pytest.approx(anchor, abs=1e-9)


def test_shift_wheel_and_horizontal_scroll_pan(view):
    view.set_visible_range(20, 30)
    wheel(view, 100, dy=-120, modifiers=Qt.KeyboardModifier.ShiftModifier)  # down: later
    start, end = view.visible_range()
    assert start > 20 and end - start == pytest.approx(10)
    wheel(view, 100, dx=120)  # a horizontal scroll to the left: earlier
    assert view.visible_range()[0] < start


def test_drag_pans_without_seeking(qtbot, view):
    view.set_visible_range(20, 30)  # 1/60 s per pixel
    seeks = []
    view.seek_requested.connect(seeks.append)
    y = wave_y(view, 0.8)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(400, y))
    drag = QMouseEvent(
        QEvent.Type.MouseMove, QPointF(280, y), QPointF(view.mapToGlobal(QPoint(280, y))),
        Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(view, drag)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(280, y))
    assert view.visible_range()[0] == pytest.approx(20 + 120 / 60)
    assert seeks == []


def test_the_same_recording_with_its_samples_keeps_the_view(qtbot, view, peaks):
    view.set_visible_range(10, 12)
    with qtbot.waitSignal(view.view_changed) as changed:
        view.set_peaks(peaks.with_samples(np.zeros(peaks.n_samples, np.float32)))
    assert changed.args == pytest.approx([10, 12])
    view.set_peaks(PeaksPyramid.compute(np.zeros(RATE * 5, np.float32), RATE))  # another recording
    assert view.visible_range() == pytest.approx((0, 5))


def test_zoom_and_pan_stop_at_the_recording_edges(view):
    view.zoom_by(1e9)
    start, end = view.visible_range()
    assert end - start == pytest.approx(view._view.min_span)
    view.zoom_by(1e-9)
    assert view.visible_range() == pytest.approx((0, 60))
    view.set_visible_range(-5, 5)
    assert view.visible_range() == pytest.approx((0, 10))
    view.set_visible_range(58, 68)
    assert view.visible_range() == pytest.approx((50, 60))


def test_pinch_on_a_touchpad_zooms(view):
    from PySide6.QtGui import QNativeGestureEvent

    pos = QPointF(150, HEIGHT / 2)
    anchor = view.time_at(150)
    event = QNativeGestureEvent(
        Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(), 2,
        pos, pos, QPointF(view.mapToGlobal(pos.toPoint())), 1.0, QPointF(), 0,
    )  # fmt: skip
    QApplication.sendEvent(view, event)
    start, end = view.visible_range()
    assert end - start == pytest.approx(30)
    assert view.time_at(150) == pytest.approx(anchor)


# ----- keys -----------------------------------------------------------------------------------


def test_keys_play_skip_and_zoom(qtbot, view):
    view.set_playhead(10.0)
    with qtbot.waitSignal(view.play_pause_requested):
        qtbot.keyClick(view, Qt.Key.Key_Space)
    with qtbot.waitSignal(view.seek_requested) as seek:
        qtbot.keyClick(view, Qt.Key.Key_Right)
    assert seek.args == [15.0]
    with qtbot.waitSignal(view.seek_requested) as seek:
        qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert seek.args == [0.0]  # 10 − 30, clamped to the start
    with qtbot.waitSignal(view.seek_requested) as seek:
        qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert seek.args == [40.0]
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    start, end = view.visible_range()
    assert end - start == pytest.approx(40)
    assert start <= 10.0 <= end  # zoomed around the playhead
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert view.visible_range() == pytest.approx((0, 60))
    with qtbot.waitSignal(view.seek_requested) as seek:
        qtbot.keyClick(view, Qt.Key.Key_End)
    assert seek.args == [60.0]


# ----- playhead, show_time, accessibility ------------------------------------------------------


def test_playhead_is_drawn_and_followed(view):
    view.set_visible_range(0, 10)
    view.set_playhead(5.0)
    image = image_of(view)
    x = round(view.x_of(5.0))
    colors = Colors.from_palette(view.palette())
    assert any(same_color(image.pixelColor(x + d, wave_y(view, 0.9)), colors.playhead) for d in (-1, 0, 1))
    view.set_playhead(10.5)  # past the right edge while it was shown: the view pages on
    start, end = view.visible_range()
    assert start <= 10.5 <= end
    view.set_visible_range(40, 50)
    view.set_playhead(11.0)  # not shown (the user looks elsewhere): the view stays
    assert view.visible_range() == pytest.approx((40, 50))
    assert "0:11" in view.accessibleDescription()


def test_show_time_scrolls_only_when_needed(view):
    view.set_visible_range(0, 10)
    view.show_time(5)
    assert view.visible_range() == pytest.approx((0, 10))
    view.show_time(45)
    start, end = view.visible_range()
    assert start <= 45 <= end and end - start == pytest.approx(10)


def test_accessibility(view):
    assert view.accessibleName() == "Waveform"
    assert view.focusPolicy() == Qt.FocusPolicy.StrongFocus
    assert "Space" in view.toolTip() and "zoom" in view.toolTip()
    description = view.accessibleDescription()
    assert "1:00" in description and "zoom 1×" in description
    view.zoom_by(4)
    assert "zoom 4×" in view.accessibleDescription()
    assert view.minimumWidth() >= 200 and view.minimumHeight() >= 80


# ----- what it paints ---------------------------------------------------------------------------


def test_loud_audio_is_drawn_and_silence_is_not(view):
    image = image_of(view)
    colors = Colors.from_palette(view.palette())
    y = wave_y(view, 0.3)  # well off the centre line
    loud = [image.pixelColor(x, y) for x in range(10, 290, 7)]
    silent = [image.pixelColor(x, y) for x in range(310, 590, 7)]
    assert sum(same_color(c, colors.wave) for c in loud) > 0.8 * len(loud)
    assert all(same_color(c, colors.background) for c in silent)


def test_dark_palette_is_followed(view):
    palette = QPalette(view.palette())
    palette.setColor(QPalette.ColorRole.Base, QColor("#151515"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#3daee9"))
    view.setPalette(palette)
    image = image_of(view)
    assert same_color(image.pixelColor(450, wave_y(view, 0.3)), QColor("#151515"))
    assert same_color(image.pixelColor(100, wave_y(view, 0.5)), QColor("#3daee9"))


def test_nothing_loaded(qtbot, view):
    view.clear()
    assert view.accessibleDescription() == "No recording."
    seeks = []
    view.seek_requested.connect(seeks.append)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert seeks == []
    image = image_of(view)
    inside_focus_frame = [
        (x, y) for x in range(4, WIDTH - 4, 3) for y in range(4, int(view._ruler_height()))
    ]  # frame: 3 px
    ruler_band = {image.pixelColor(x, y).name() for x, y in inside_focus_frame}
    assert len(ruler_band) == 1, "no tick marks or times over an empty waveform"


# ----- steps --------------------------------------------------------------------------------------

STEPS = [
    Step(0, 40.0, 40.0, "a moment"),
    Step(1, 45.0, 50.0, "a range"),
    Step(2, None, None, "no time"),
    Step(3, 72.0, 72.0, "past the end", past_end=True),
]


def test_steps_are_drawn_where_they_cite(view):
    view.set_steps(STEPS)
    colors = Colors.from_palette(view.palette())
    image = image_of(view)
    y = wave_y(view, 0.8)
    moment_x = round(view.x_of(40))
    assert any(same_color(image.pixelColor(moment_x + d, y), colors.step) for d in (-1, 0, 1))
    assert same_color(image.pixelColor(moment_x + 15, y), colors.background)
    inside, outside = round(view.x_of(47.5)), round(view.x_of(53))
    assert not same_color(image.pixelColor(inside, y), colors.background)
    assert same_color(image.pixelColor(outside, y), colors.background)


def test_a_time_past_the_end_is_shown_at_the_end_in_the_error_colour(view):
    view.set_steps(STEPS)
    colors = Colors.from_palette(view.palette())
    image = image_of(view)
    y = wave_y(view, 0.8)
    stripe = [image.pixelColor(x, y) for x in range(WIDTH - 6, WIDTH)]
    assert any(same_color(c, colors.error, 30) for c in stripe)
    move(view, WIDTH - 2, wave_y(view, 0.6))
    assert view.hovered_step == 3


def test_a_range_running_past_the_end_is_clamped(view):
    view.set_steps([Step(7, 55.0, 80.0, "runs over", past_end=True)])
    colors = Colors.from_palette(view.palette())
    image = image_of(view)
    y = wave_y(view, 0.8)
    assert not same_color(image.pixelColor(round(view.x_of(57)), y), colors.background)
    assert any(same_color(image.pixelColor(x, y), colors.error, 30) for x in range(WIDTH - 6, WIDTH))


def test_hovering_a_region_or_moment_reports_its_step(qtbot, view):
    view.set_steps(STEPS)
    seen = []
    view.step_hovered.connect(seen.append)
    y = wave_y(view, 0.7)
    move(view, view.x_of(47), y)
    move(view, view.x_of(48), y)  # same step: not reported again
    move(view, view.x_of(40) + 2, y)
    move(view, view.x_of(20), y)
    assert seen == [1, 0, None]
    move(view, view.x_of(47), y)
    QApplication.sendEvent(view, QEvent(QEvent.Type.Leave))
    assert seen[-2:] == [1, None]


def test_hovered_step_is_highlighted(view):
    view.set_steps(STEPS)
    before = image_of(view)
    move(view, view.x_of(47), wave_y(view, 0.7))
    assert view.hovered_step == 1
    assert image_of(view) != before


def test_highlight_step_changes_the_painting(view):
    view.set_steps(STEPS)
    x, y = round(view.x_of(47.5)), wave_y(view, 0.8)
    plain = image_of(view)
    view.highlight_step(1)
    assert view.highlighted_step == 1
    lit = image_of(view)
    assert lit.pixelColor(x, y) != plain.pixelColor(x, y)  # the region's shade deepens
    view.highlight_step(None)
    assert image_of(view).pixelColor(x, y) == plain.pixelColor(x, y)


def test_clicking_a_moment_or_flag_picks_the_step_and_a_region_seeks(qtbot, view):
    view.set_steps(STEPS)
    y = wave_y(view, 0.7)
    with qtbot.waitSignal(view.step_clicked) as clicked:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(view.x_of(40)) + 1, y))
    assert clicked.args == [0]
    flag = view._current_marks()[1].flag
    with qtbot.waitSignal(view.step_clicked) as clicked:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=flag.center().toPoint())
    assert clicked.args == [1]
    with qtbot.waitSignal(view.seek_requested) as seek:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(round(view.x_of(47.5)), y))
    assert seek.args[0] == pytest.approx(47.5, abs=0.1)


def test_marks_follow_zoom(view):
    view.set_steps(STEPS)
    view.set_visible_range(35, 55)
    marks = {m.index: m for m in view._current_marks()}
    assert marks[0].x0 == pytest.approx(view.x_of(40)) == pytest.approx(150)
    assert (marks[1].x0, marks[1].x1) == pytest.approx((300, 450))
    assert 2 not in marks and 3 not in marks  # no time; past the end (off to the right)


# ----- pure helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize("span", [3 * 3600, 600, 60, 5, 0.5, 0.03])
def test_ticks_suit_every_zoom(span):
    px_per_second, label_px = 1920 / span, 80
    ticks = choose_ticks(px_per_second, label_px, duration=3 * 3600)
    assert ticks.major * px_per_second >= label_px  # labels never collide
    assert ticks.major * px_per_second < 6 * label_px  # …and are not sparse
    assert ticks.minor <= ticks.major
    labels = [clock(t, ticks.decimals, ticks.hours) for t in tick_times(100, 100 + span, ticks.major)]
    assert len(set(labels)) == len(labels)  # every label distinct: enough decimals


def test_viewport_round_trips():
    v = Viewport()
    v.width = 1000
    v.reset(3600)
    v.zoom_at(10, 250)
    for x in (0, 250, 999.5):
        assert v.x_of(v.time_at(x)) == pytest.approx(x)


def test_the_waveform_does_not_import_the_model_stack_and_survives_many_paint_calls():
    code = (
        "import ui.waveform, sys\n"
        "from PySide6.QtGui import QColor\n"
        "c = QColor()\n"
        "for _ in range(50000): c.setRed(1)\n"  # ~10x None's own reference count
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.split() == ["False", "False"]
