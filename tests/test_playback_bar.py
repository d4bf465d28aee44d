"""The playback bar under the waveform, the markers as chips that do not collide, the focus outline."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel, QToolButton

from engine.audio.peaks import PeaksPyramid
from engine.events import Step
from tests import media
from ui.waveform import WaveformView
from ui.waveform.markers import layout_marks
from ui.waveform.playback_bar import PlaybackBar
from ui.waveform.widget import FOCUS_PX

RATE = 16000


def pyramid(seconds: float) -> PeaksPyramid:
    """A pyramid of ``seconds`` of quiet noise, built from one short block repeated (no long array)."""
    from engine.audio.peaks import PeaksBuilder

    builder, block = (
        PeaksBuilder(RATE),
        (0.1 * np.random.default_rng(0).standard_normal(RATE * 60)).astype(np.float32),
    )
    for _ in range(int(seconds // 60)):
        builder.add(block)
    return builder.finish()


@pytest.fixture
def bar(qtbot):
    view = WaveformView()
    bar = PlaybackBar(view)
    qtbot.addWidget(view)
    qtbot.addWidget(bar)
    view.resize(800, 160)
    view.show()
    bar.show()
    return view, bar


def test_the_bar_shows_the_time_and_length_and_plays_and_zooms_to_fit(bar, qtbot):
    view, bar = bar
    assert not bar.play_button.isEnabled() and bar.time_label.text() == "00:00 / 00:00"
    view.set_peaks(pyramid(2 * 3600))
    assert bar.time_label.text() == "0:00:00 / 2:00:00" and bar.play_button.isEnabled()
    view.set_playhead(3725.0)
    assert bar.time_label.text() == "1:02:05 / 2:00:00"
    with qtbot.waitSignal(bar.play_pause_requested):
        qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    assert bar.play_button.accessibleName() == "Play"
    bar.set_playing(True)
    assert bar.play_button.accessibleName() == "Pause"
    assert not bar.fit_button.isEnabled()  # all of it shows already
    view.zoom_by(8.0)
    assert bar.fit_button.isEnabled()
    qtbot.mouseClick(bar.fit_button, Qt.MouseButton.LeftButton)
    assert view.visible_range() == pytest.approx((0.0, 7200.0)) and not bar.fit_button.isEnabled()
    for control in [*bar.findChildren(QToolButton), *bar.findChildren(QLabel)]:
        assert control.accessibleName(), control


def test_the_answers_time_never_stacks_on_the_reasoning_step_that_cited_it(bar):
    view, _ = bar
    view.set_peaks(pyramid(600))
    steps = [
        Step(0, 65.0, None, "A dog barks at 01:05."),
        Step(1, 66.0, None, "It barks again."),
        Step(2, 65.0, None, "The dog barks at 01:05.", source="answer"),
    ]
    marks = layout_marks(steps, view._view, 20.0, 16.0, lambda text: 7.0 * len(text), bottom=150.0)
    flags = {m.index: m.flag for m in marks}
    assert all(flag is not None for flag in flags.values())
    assert not flags[0].intersects(flags[2]) and not flags[1].intersects(flags[2])
    assert flags[2].bottom() == pytest.approx(150.0)  # the answer's lane, at the foot of the wave
    labels = {m.index: m.label for m in marks}
    assert labels == {0: "1 · 01:05", 1: "2 · 01:06", 2: "A1 · 01:05"}


def test_the_focus_outline_is_three_pixels_in_the_highlight_colour(bar, monkeypatch):
    view, _ = bar
    view.set_peaks(PeaksPyramid.compute(media.speech("Focus."), RATE))
    monkeypatch.setattr(view, "hasFocus", lambda: True)
    image: QImage = view.grab().toImage()
    focus = QColor(view._colors.focus)
    ratio = view.devicePixelRatioF()
    for inset in range(int(FOCUS_PX * ratio)):
        assert image.pixelColor(inset, image.height() // 2).rgb() == focus.rgb(), inset


def test_the_windows_bar_follows_the_open_recording_and_the_player(app, qtbot, tmp_path):
    window, controller = app
    clip = media.write_wav(tmp_path / "talk.wav", media.speech("The bar follows the player."), RATE)
    controller.open_recording(str(clip))
    qtbot.waitUntil(lambda: controller.recording == str(clip), timeout=20_000)
    bar = window.playback
    assert bar.time_label.text().startswith("00:00 / 00:0") and bar.play_button.isEnabled()
    qtbot.mouseClick(bar.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.play_button.accessibleName() == "Pause", timeout=5_000)
    controller.player.pause()
    assert bar.play_button.accessibleName() == "Play"
