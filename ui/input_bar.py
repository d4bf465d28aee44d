"""The bottom bar: the question box with Think and Ask, then the microphone, its labelled level
meter, and Stop.

"Think" (Ctrl+T) makes the next answers reason step by step, with times the waveform shows.
"Hold to talk" (or holding F2, which the window forwards) records a question while held;
"Hands-free" (Ctrl+Shift+H) listens all the time. The meter, under a line saying what the
microphone does, keeps one size whatever it says, so the bar never shifts. In a narrow window
Think, the microphone buttons and Stop show their icons alone (names and tooltips stay).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui import theme

TALK_KEY = Qt.Key.Key_F2
MIC_IDLE = "Microphone"  # the meter's label while nothing is heard
MIC_STATES = (MIC_IDLE, "Listening", "Hearing you…", "Recording…")
QUESTION_ROOM = 170  # below this much room for the question, the buttons go icon-only
THINK_TIP = "Think step by step before answering: shows the reasoning with its times (slower) (Ctrl+T)"


class InputBar(QWidget):
    ask_requested = Signal(str)
    stop_requested = Signal()
    mic_pressed = Signal()
    mic_released = Signal()
    hands_free_toggled = Signal(bool)
    think_toggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("inputBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._talking = False
        self._build_question()
        self._build_voice()
        self.set_voice_available(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        layout.addWidget(self.text, 1)
        for widget in (self.think, self.send, self.mic, self.hands_free, self._meter_box(), self.stop):
            layout.addWidget(widget)
        self._allow_icons_alone(layout)

    def _build_question(self) -> None:
        self.text = QLineEdit(placeholderText="Ask about the recording… (Enter to send)")
        self.text.setAccessibleName("Question")
        self.text.setMinimumWidth(135)  # room to see what one types, even in a narrow window
        self.text.setToolTip("Type a question and press Enter (Ctrl+L focuses this box)")
        self.text.returnPressed.connect(self._send)
        self.think = QPushButton("Think", checkable=True, toolTip=THINK_TIP)
        self.think.setAccessibleName("Think step by step")
        theme.set_icon(self.think, "think")
        self.think.toggled.connect(self.think_toggled)
        QShortcut(QKeySequence("Ctrl+T"), self, self.think.toggle, context=Qt.ShortcutContext.WindowShortcut)
        self.send = QPushButton("Ask", toolTip="Send the question (Enter)")
        self.send.setAccessibleName("Ask")
        self.send.setProperty("role", "primary")
        theme.set_icon(self.send, "send")
        self.send.clicked.connect(self._send)

    def _build_voice(self) -> None:
        self.mic = QPushButton("Hold to talk", toolTip="Hold to talk (hold F2)")
        self.mic.setAccessibleName("Hold to talk")
        theme.set_icon(self.mic, "mic")
        self.mic.pressed.connect(self.press_mic)
        self.mic.released.connect(self.release_mic)
        self.hands_free = QPushButton("Hands-free", checkable=True)
        self.hands_free.setToolTip("Listen all the time (Ctrl+Shift+H)")
        self.hands_free.setAccessibleName("Hands-free listening")
        theme.set_icon(self.hands_free, "hands-free")
        self.hands_free.toggled.connect(self.hands_free_toggled)
        QShortcut(QKeySequence("Ctrl+Shift+H"), self, self._toggle_hands_free,
                  context=Qt.ShortcutContext.WindowShortcut)  # fmt: skip
        self.voice_state = QLabel(MIC_IDLE, accessibleName="Microphone state")
        self.level = QProgressBar(maximum=100, textVisible=False, toolTip="Microphone input level")
        self.level.setAccessibleName("Input level")
        self.level.setProperty("role", "meter")
        self.stop = QPushButton("Stop", toolTip="Stop the answer and the speech (Esc)", enabled=False)
        self.stop.setAccessibleName("Stop")
        theme.set_icon(self.stop, "stop")
        self.stop.clicked.connect(self.stop_requested)

    def _meter_box(self) -> QWidget:
        """The microphone's state over its level: one fixed size for every state it can say."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(2, 0, 2, 0)
        column.setSpacing(3)
        column.addWidget(self.voice_state)
        column.addWidget(self.level)
        width = max(self.voice_state.fontMetrics().horizontalAdvance(s) for s in MIC_STATES) + 8
        box.setFixedWidth(max(width, 88))
        self.voice_state.setBuddy(self.level)
        return box

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

    def set_think(self, on: bool) -> None:
        """Show the setting as stored, without reporting it back as a change."""
        self.think.blockSignals(True)
        self.think.setChecked(on)
        self.think.blockSignals(False)

    def press_mic(self) -> None:
        """Start a held-to-talk question (the button or F2)."""
        if self._talking or not self.mic.isEnabled():
            return
        self._talking = True
        self.mic.setDown(True)  # looks held while F2 is
        self.voice_state.setText("Recording…")
        self.mic_pressed.emit()

    def release_mic(self) -> None:
        if not self._talking:
            return
        self._talking = False
        self.mic.setDown(False)
        self.voice_state.setText(MIC_IDLE)
        self.mic_released.emit()

    def _toggle_hands_free(self) -> None:
        if self.hands_free.isEnabled():
            self.hands_free.toggle()

    def set_listening(self, is_open: bool, hands_free: bool) -> None:
        """The voice loop opened or closed, listening all the time or only while the key is held."""
        if not self._talking:
            self.voice_state.setText("Listening" if is_open and hands_free else MIC_IDLE)
        if not is_open:
            self.level.setValue(0)

    def set_hearing(self, hearing: bool) -> None:
        """Someone is speaking a question (hands-free) or it just ended."""
        if not self._talking:
            self.voice_state.setText(
                "Hearing you…" if hearing else ("Listening" if self.hands_free.isChecked() else MIC_IDLE)
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

    # -- narrow windows --------------------------------------------------------------------------
    def _allow_icons_alone(self, layout) -> None:
        """These buttons may shrink to their icon; below the room their labels need, they do."""
        self._labels = {b: b.text() for b in (self.think, self.mic, self.hands_free, self.stop)}
        self._compact = False
        self._roomy_width = self._width_with_labels(layout)
        for button in self._labels:
            button.setMinimumWidth(button.iconSize().width() + 26)
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def _width_with_labels(self, layout) -> int:
        """The bar's width with every label shown and QUESTION_ROOM for the question."""
        widgets = [layout.itemAt(i).widget() for i in range(1, layout.count())]
        margins = layout.contentsMargins()
        spacing = layout.spacing() * (layout.count() - 1)
        return (
            sum(w.sizeHint().width() for w in widgets)
            + QUESTION_ROOM
            + spacing
            + margins.left()
            + margins.right()
        )

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        compact = self.width() < self._roomy_width
        if compact != self._compact:
            self._compact = compact
            for button, label in self._labels.items():
                button.setText("" if compact else label)

    @property
    def compact(self) -> bool:
        return self._compact
