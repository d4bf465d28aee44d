"""The main window's keys: its shortcuts work wherever focus is, and F2 is held, not repeated.

Rules, as Help → Keyboard shortcuts states them:
- The window's shortcuts with Ctrl (Export, Settings, …) work from anywhere in the window, the
  question box included (it would otherwise take Ctrl+E as "end of line").
- Space plays or pauses the recording wherever focus is, except where Space already does
  something: typing in a text box, or pressing the focused button or check box.
- Holding F2 talks. Some systems (X11 without the auto-repeat flag, remote desktops) turn a held
  key into release/press pairs: a release followed within ``TALK_DEBOUNCE_MS`` by a press of the
  same key is one hold.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

TALK_DEBOUNCE_MS = 50
SPACE_USERS = (QLineEdit, QAbstractSpinBox, QComboBox, QAbstractButton)  # Space types, steps or presses there

SHORTCUTS = (  # (keys, what they do): Help → Keyboard shortcuts
    ("Ctrl+O", "Open a recording"),
    ("Ctrl+N", "New conversation"),
    ("Ctrl+E", "Export the conversation"),
    ("Ctrl+L", "Go to the question box"),
    ("Enter", "Ask the question (in the question box)"),
    ("Esc", "Stop: the answer, the speech, or a recording being opened"),
    ("Space", "Play or pause the recording (except while typing or on a button)"),
    ("Hold F2", "Hold to talk"),
    ("Ctrl+Shift+H", "Hands-free listening on or off"),
    ("Ctrl+T", "Think step by step on or off (beside the question box)"),
    ("Ctrl+Shift+C", "Copy the last answer"),
    ("Ctrl+,", "Settings"),
    ("Ctrl+M", "Models"),
    ("Ctrl+Shift+F", "Fine-tune"),
    ("Ctrl+Q", "Quit"),
)


def shortcuts_text() -> str:
    rows = "".join(f"<tr><td><b>{keys}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for keys, what in SHORTCUTS)
    return f"<table>{rows}</table>"


def uses_space(widget: QWidget | None) -> bool:
    """Whether Space already does something in ``widget`` (typing, pressing, stepping)."""
    if isinstance(widget, SPACE_USERS):
        return True
    return isinstance(widget, (QTextEdit, QPlainTextEdit)) and not widget.isReadOnly()


class WindowKeys(QObject):
    """Watches the application's shortcut overrides for one window, and debounces its talk key."""

    def __init__(self, window: QWidget, window_wide: list[QKeySequence], press_talk, release_talk):
        super().__init__(window)
        self.window = window
        self.window_wide = [seq for seq in window_wide if not seq.isEmpty()]
        self.press_talk = press_talk
        self._release = QTimer(self, singleShot=True, interval=TALK_DEBOUNCE_MS)
        self._release.timeout.connect(release_talk)
        window.installEventFilter(self)  # the application's keys are watched while the window shows
        if window.isVisible():
            QApplication.instance().installEventFilter(self)

    # -- F2 ------------------------------------------------------------------------------------
    def talk_pressed(self) -> None:
        if self._release.isActive():
            self._release.stop()  # released and pressed again at once: the same hold
        else:
            self.press_talk()

    def talk_released(self) -> None:
        self._release.start()

    # -- shortcut overrides ----------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if obj is self.window and kind in (QEvent.Type.Show, QEvent.Type.Hide):
            app = QApplication.instance()
            app.installEventFilter(self) if kind == QEvent.Type.Show else app.removeEventFilter(self)
            return False
        if kind != QEvent.Type.ShortcutOverride or not isinstance(obj, QWidget):
            return False
        if obj.window() is not self.window:
            return False
        if event.key() == Qt.Key.Key_Space and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            if uses_space(obj):
                event.accept()  # the widget keeps Space; the window's Space shortcut waits
                return True
            return False
        if self._window_wide(event) and isinstance(obj, (QLineEdit, QTextEdit, QPlainTextEdit)):
            event.ignore()  # the window's shortcut wins over the text box's own binding
            return True
        return False

    def _window_wide(self, event) -> bool:
        pressed = QKeySequence(event.keyCombination())
        return any(seq.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch for seq in self.window_wide)
