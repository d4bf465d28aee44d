"""The conversation: turns one under another, the newest at the bottom, following the stream."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from ui.turn_view import TurnView

EMPTY_TEXT = (
    "Open a recording (Ctrl+O or drop a file here), then ask about it below — or just talk to Heron "
    "with the microphone button."
)


class ChatView(QScrollArea):
    seek_requested = Signal(float)
    step_activated = Signal(object)  # a Step of any turn
    step_hovered = Signal(object)  # a Step or None
    turn_focused = Signal(object)  # the TurnView whose steps the waveform should show

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._body = QWidget()
        self._column = QVBoxLayout(self._body)
        self._column.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.empty = QLabel(EMPTY_TEXT, wordWrap=True, alignment=Qt.AlignmentFlag.AlignCenter)
        self.empty.setAccessibleName("No conversation yet")
        self._column.addWidget(self.empty)
        self._column.addStretch(1)  # turns stay at their natural height, stacked from the top
        self.setWidget(self._body)
        self.turns: list[TurnView] = []
        self.verticalScrollBar().rangeChanged.connect(self._follow)
        self._following = True

    @property
    def current(self) -> TurnView | None:
        return self.turns[-1] if self.turns else None

    def add_turn(self, question: str) -> TurnView:
        self.empty.hide()
        turn = TurnView(question, self._body)
        turn.seek_requested.connect(self.seek_requested)
        turn.step_activated.connect(self.step_activated)
        turn.step_activated.connect(lambda _step, t=turn: self.turn_focused.emit(t))
        turn.step_hovered.connect(self.step_hovered)
        self._column.insertWidget(self._column.count() - 1, turn)
        self.turns.append(turn)
        self._following = True
        self.turn_focused.emit(turn)
        return turn

    def clear(self) -> None:
        for turn in self.turns:
            turn.deleteLater()
        self.turns.clear()
        self.empty.show()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        QTimer.singleShot(0, lambda: [t._fit_answer() for t in self.turns])

    def _follow(self, _low: int, high: int) -> None:
        """Keep the newest text in view while it streams, unless the user scrolled up."""
        bar = self.verticalScrollBar()
        if self._following:
            bar.setValue(high)
        self._following = bar.value() >= high - 4 or self._following
