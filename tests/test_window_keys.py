"""The window's keys work wherever focus is, and a held F2 is one hold (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests import media

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def window(qtbot):
    from ui.main_window import MainWindow

    window = MainWindow("test")
    qtbot.addWidget(window)
    window.show()
    activate(window, qtbot)
    return window


def activate(window, qtbot) -> None:
    """Shortcuts reach the active window only (under Xvfb with no window manager, ask for it)."""
    window.raise_()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def test_ctrl_e_exports_and_ctrl_comma_opens_settings_from_the_question_box(window, qtbot):
    window.input.text.setFocus()
    window.input.text.setText("half a question")
    with qtbot.waitSignal(window.export_requested, timeout=1000):
        qtbot.keyClick(window.input.text, Qt.Key.Key_E, CTRL)
    with qtbot.waitSignal(window.settings_requested, timeout=1000):
        qtbot.keyClick(window.input.text, Qt.Key.Key_Comma, CTRL)
    assert window.input.text.text() == "half a question"


def test_help_lists_the_shortcuts(window):
    from ui.window_keys import shortcuts_text

    text = shortcuts_text()
    for keys in ("Ctrl+E", "Ctrl+,", "Space", "Hold F2", "Esc", "Ctrl+L"):
        assert f"<b>{keys}</b>" in text
    assert any(a.text() == "&Keyboard shortcuts" for a in window.menuBar().actions()[-1].menu().actions())


def test_a_release_and_press_of_f2_within_the_debounce_is_one_hold(window, qtbot):
    window.input.set_voice_available(True)
    pressed, released = [], []
    window.input.mic_pressed.connect(lambda: pressed.append(1))
    window.input.mic_released.connect(lambda: released.append(1))
    window.input.text.setFocus()
    QTest.keyPress(window.input.text, Qt.Key.Key_F2)
    for _ in range(5):  # what a held key looks like where the system does not mark auto-repeat
        QTest.keyRelease(window.input.text, Qt.Key.Key_F2)
        QTest.keyPress(window.input.text, Qt.Key.Key_F2)
    QTest.keyRelease(window.input.text, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: bool(released), timeout=2000)
    qtbot.wait(100)
    assert (len(pressed), len(released)) == (1, 1)
    QTest.keyPress(window.input.text, Qt.Key.Key_F2)  # a new hold after the release settled
    QTest.keyRelease(window.input.text, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: len(released) == 2, timeout=2000)
    assert len(pressed) == 2


def test_space_plays_and_pauses_from_anywhere_but_a_text_box_or_a_button(app, qtbot, tmp_path: Path):
    window, controller = app
    tones = media.write_wav(tmp_path / "tones.wav", media.tone(seconds=6.0), 16000)
    window.recording_chosen.emit(str(tones))
    qtbot.waitUntil(lambda: controller.recording == str(tones), timeout=20_000)
    activate(window, qtbot)
    window.conversations.list.setFocus()
    qtbot.keyClick(window.conversations.list, Qt.Key.Key_Space)
    assert controller.player.playing
    window.chat.setFocus()
    qtbot.keyClick(window.chat, Qt.Key.Key_Space)
    assert not controller.player.playing
    window.input.text.setFocus()
    qtbot.keyClick(window.input.text, Qt.Key.Key_Space)
    assert window.input.text.text() == " " and not controller.player.playing
    window.input.send.setFocus()
    with qtbot.waitSignal(window.input.send.clicked, timeout=1000):  # Space presses a focused button
        qtbot.keyClick(window.input.send, Qt.Key.Key_Space)
    assert not controller.player.playing


def focus_after(window, qtbot, key: Qt.Key, presses: int):
    """The widgets that hold the focus after each of ``presses`` presses of ``key``, from the question box."""
    window.input.text.setFocus()
    seen = []
    for _ in range(presses):
        qtbot.keyClick(window.focusWidget(), key)
        seen.append(window.focusWidget())
    return seen


def test_tab_goes_from_the_question_box_to_ask_then_the_recording(app, qtbot, tmp_path: Path):
    window, controller = app
    clip = media.write_wav(tmp_path / "tones.wav", media.tone(seconds=4.0), 16000)
    window.recording_chosen.emit(str(clip))
    qtbot.waitUntil(lambda: controller.recording == str(clip), timeout=20_000)
    for question in ("What do you hear?", "And then?"):  # answers and steps in the chat: focus stops too
        controller.ask(question)
        qtbot.waitUntil(lambda: window.input.send.isEnabled(), timeout=60_000)
    activate(window, qtbot)
    forward = focus_after(window, qtbot, Qt.Key.Key_Tab, 3)
    assert forward == [window.input.send, window.waveform, window.playback.play_button]
