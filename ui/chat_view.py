"""The conversation: turns one under another in a readable column, the newest at the bottom,
following the stream unless the user scrolled up to read. One scroll: nothing inside scrolls."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ui.input_bar import TALK_KEY
from ui.turn_view import TurnView

EMPTY_TITLE = "Ask Heron about a recording"
EMPTY_TEXT = (
    "Open a recording (Ctrl+O, or drop a file here) and type a question below. "
    f"Or talk to Heron: hold {QKeySequence(TALK_KEY).toString()} (Hold to talk) while you speak, "
    "or turn on Hands-free."
)
COLUMN_EM = 48  # the column's widest, in line heights: lines stay short enough to read
FOLLOW_SLACK_PX = 4


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
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setWidget(self._build_body())
        self.turns: list[TurnView] = []
        self._following = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._follow)
        bar.valueChanged.connect(self._scrolled)

    def _build_body(self) -> QWidget:
        """A page in the palette's Base colour with a centred column of turns."""
        body = self._body = QWidget()
        body.setBackgroundRole(QPalette.ColorRole.Base)
        body.setAutoFillBackground(True)
        self._page = QWidget(body)
        self._page.setMaximumWidth(COLUMN_EM * self.fontMetrics().height())
        centred = QHBoxLayout(body)
        centred.addStretch(1)
        centred.addWidget(self._page, 100)
        centred.addStretch(1)
        self._column = QVBoxLayout(self._page)
        self._column.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.empty = QLabel(f"<h3>{EMPTY_TITLE}</h3><p>{EMPTY_TEXT}</p>", wordWrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setAccessibleName("No conversation yet")
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty.setContentsMargins(0, 48, 0, 0)
        self._column.addWidget(self.empty)
        self._column.addStretch(1)  # turns stay at their natural height, stacked from the top
        return body

    @property
    def current(self) -> TurnView | None:
        return self.turns[-1] if self.turns else None

    def add_turn(self, question: str, *, thinking: bool = False) -> TurnView:
        """A new turn at the bottom; ``thinking``: the model reasons first (its status says so)."""
        self.empty.hide()
        turn = TurnView(question, self._page, thinking=thinking)
        turn.seek_requested.connect(self.seek_requested)
        turn.seek_requested.connect(lambda _s, t=turn: self.turn_focused.emit(t))
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

    def _follow(self, _low: int, high: int) -> None:
        """Keep the newest text in view while it streams, unless the user scrolled up."""
        if self._following:
            self.verticalScrollBar().setValue(high)

    def _scrolled(self, value: int) -> None:
        self._following = value >= self.verticalScrollBar().maximum() - FOLLOW_SLACK_PX
