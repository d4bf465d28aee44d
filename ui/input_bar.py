"""The bottom bar: the question box, send, the microphone, its level meter, and stop.

"Hold to talk" (or holding F2, which the window forwards) records a question while held;
"Hands-free" (Ctrl+Shift+H) listens all the time. The meter shows the microphone live while
voice is in use, and a small label says what the microphone is doing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QWidget

TALK_KEY = Qt.Key.Key_F2


class InputBar(QWidget):
    ask_requested = Signal(str)
    stop_requested = Signal()
    mic_pressed = Signal()
    mic_released = Signal()
    hands_free_toggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = QLineEdit(placeholderText="Ask about the recording… (Enter to send)")
        self.text.setAccessibleName("Question")
        self.text.setToolTip("Type a question and press Enter (Ctrl+L focuses this box)")
        self.text.returnPressed.connect(self._send)
        self.send = QPushButton("Ask", toolTip="Send the question (Enter)")
        self.send.setAccessibleName("Ask")
        self.send.clicked.connect(self._send)
        self.mic = QPushButton("Hold to talk", toolTip="Hold to talk (hold F2)")
        self.mic.setAccessibleName("Hold to talk")
        self.mic.pressed.connect(self.press_mic)
        self.mic.released.connect(self.release_mic)
        self.hands_free = QPushButton("Hands-free", checkable=True)
        self.hands_free.setToolTip("Listen all the time (Ctrl+Shift+H)")
        self.hands_free.setAccessibleName("Hands-free listening")
        self.hands_free.toggled.connect(self.hands_free_toggled)
        QShortcut(QKeySequence("Ctrl+Shift+H"), self, self._toggle_hands_free,
                  context=Qt.ShortcutContext.WindowShortcut)  # fmt: skip
        self.voice_state = QLabel(accessibleName="Microphone state")
        self._talking = False
        self.level = QProgressBar(maximum=100, textVisible=False, toolTip="Microphone input level")
        self.level.setAccessibleName("Input level")
        self.level.setFixedWidth(90)
        self.stop = QPushButton("Stop", toolTip="Stop the answer and the speech (Esc)", enabled=False)
        self.stop.setAccessibleName("Stop")
        self.stop.clicked.connect(self.stop_requested)
        self.set_voice_available(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        for widget in (self.send, self.mic, self.hands_free, self.voice_state, self.level, self.stop):
            layout.addWidget(widget)

    def set_voice_available(
        self, available: bool, why: str = "Voice conversation is not available yet"
    ) -> None:
        """The microphone controls work only once the app has a voice loop to drive."""
        for widget, tip in (
            (self.mic, "Hold to talk (hold F2)"),
            (self.hands_free, "Listen all the time (Ctrl+Shift+H)"),
        ):
            widget.setEnabled(available)
            widget.setToolTip(tip if available else f"{tip} — {why}")
        self.level.setEnabled(available)

    def press_mic(self) -> None:
        """Start a held-to-talk question (the button or F2)."""
        if self._talking or not self.mic.isEnabled():
            return
        self._talking = True
        self.mic.setText("Release to send")
        self.voice_state.setText("Recording…")
        self.mic_pressed.emit()

    def release_mic(self) -> None:
        if not self._talking:
            return
        self._talking = False
        self.mic.setText("Hold to talk")
        self.voice_state.setText("")
        self.mic_released.emit()

    def _toggle_hands_free(self) -> None:
        if self.hands_free.isEnabled():
            self.hands_free.toggle()

    def set_listening(self, is_open: bool, hands_free: bool) -> None:
        """The voice loop opened or closed, listening all the time or only while the key is held."""
        if not self._talking:
            self.voice_state.setText("Listening" if is_open and hands_free else "")
        if not is_open:
            self.level.setValue(0)

    def set_hearing(self, hearing: bool) -> None:
        """Someone is speaking a question (hands-free) or it just ended."""
        if not self._talking:
            self.voice_state.setText(
                "Hearing you…" if hearing else ("Listening" if self.hands_free.isChecked() else "")
            )

    def set_busy(self, busy: bool) -> None:
        self.stop.setEnabled(busy)

    def set_level(self, level: float) -> None:
        self.level.setValue(int(max(0.0, min(level, 1.0)) * 100))

    def _send(self) -> None:
        question = self.text.text().strip()
        if question:
            self.ask_requested.emit(question)
            self.text.clear()
