"""The question bar on the real window: Think beside the question box drives the next answer and
is remembered; the microphone's meter is labelled and the bar keeps its layout whatever the
microphone says."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.settings import Settings, open_settings
from ui.input_bar import MIC_STATES


def test_think_beside_the_question_box_reaches_the_next_question_and_is_remembered(app, qtbot):
    window, controller = app
    bar = window.input
    assert bar.think.accessibleName() and "step by step" in bar.think.toolTip()
    assert not bar.think.isChecked() and not controller.settings.think
    asked = []
    controller.bridge.ask = asked.append  # what the engine is asked is enough here: no need to run it
    qtbot.mouseClick(bar.think, Qt.MouseButton.LeftButton)
    assert controller.settings.think and Settings.load(open_settings()).think
    controller.ask("What do you hear?")
    assert len(asked) == 1 and asked[0].think is True
    dialog = controller.open_settings()
    assert "think" not in dialog.values(), "one place for Think: beside the question box"
    dialog.reject()


def test_the_meter_is_labelled_and_the_bar_does_not_shift(app, qtbot):
    window, controller = app
    bar = window.input
    assert bar.voice_state.text() and bar.voice_state.buddy() is bar.level
    qtbot.wait(20)
    places = {w: w.geometry() for w in (bar.text, bar.send, bar.mic, bar.hands_free, bar.level, bar.stop)}
    for text in MIC_STATES[1:]:
        bar.voice_state.setText(text)
        qtbot.wait(10)
        assert {w: w.geometry() for w in places} == places, text
    bar.mic.setEnabled(True)
    bar.press_mic()
    qtbot.wait(10)
    assert bar.mic.isDown() and bar.voice_state.text() == "Recording…"
    assert {w: w.geometry() for w in places} == places
    bar.release_mic()


def test_a_narrow_window_keeps_every_control_with_icons_alone(app, qtbot):
    window, controller = app
    bar = window.input
    assert not bar.compact and bar.mic.text() == "Hold to talk"
    window.resize(760, 560)
    window.main_splitter.setSizes([210, 550])
    qtbot.waitUntil(lambda: bar.compact, timeout=2_000)
    assert window.width() == 760, "the window can be this narrow"
    for button in (bar.think, bar.mic, bar.hands_free, bar.stop):
        assert (
            button.text() == ""
            and not button.icon().isNull()
            and button.accessibleName()
            and button.toolTip()
        )
    assert bar.send.text() == "Ask" and bar.text.width() >= 130
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: not bar.compact, timeout=2_000)
    assert bar.think.text() == "Think"
