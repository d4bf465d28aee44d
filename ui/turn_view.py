"""One question and its answer as it streams in: who said what, reasoning steps, answer, state.

The question sits in a tinted bubble on the right; Heron's answer reads in the chat's own flow as
Markdown, under its reasoning steps; one line under it says what state the turn is in. Colours
come from the palette (QPalette roles), so a dark theme applies to all of it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from engine.events import Done, Error, Event, Finish, Step, TextDelta, ThinkDelta
from ui.answer_view import AnswerView
from ui.markdown import linked_markdown
from ui.steps_list import StepsList

RENDER_EVERY_MS = 33  # tokens arrive faster than anyone reads: redraw ~30×/s at most
RENDER_SHARE = 5  # and never spend more than a fifth of the time redrawing a long answer
BUBBLE_SHARE = 0.8  # a question's bubble takes at most this much of the column

RUNNING = ("thinking", "answering")
ENDINGS = {Finish.CANCELLED: ("stopped", "Stopped"), Finish.INTERRUPTED: ("interrupted", "Interrupted"),
           Finish.LENGTH: ("cut", "Cut at the answer-length limit")}  # fmt: skip
FLAT_BUTTON = """
QToolButton, QPushButton { background: transparent; border: 2px solid transparent; border-radius: 6px;
                           padding: 1px 6px; min-height: 0; }
QToolButton:hover, QPushButton:hover { background: palette(midlight); }
QToolButton:focus, QPushButton:focus { border: 2px solid palette(highlight); padding: 1px 6px; }
"""


def scaled_font(widget: QWidget, factor: float, *, bold: bool = False, italic: bool = False) -> None:
    font = widget.font()
    font.setPointSizeF(max(font.pointSizeF() * factor, 6.0))
    font.setBold(bold)
    font.setItalic(italic)
    widget.setFont(font)


def role_label(text: str, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> QLabel:
    """ "You" or "Heron" above what each said: small, bold, quiet."""
    label = QLabel(text, alignment=align)
    label.setAccessibleName(f"{text} said")
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    scaled_font(label, 0.85, bold=True)
    return label


def error_colour(palette: QPalette) -> QColor:
    """A red that reads on this palette's window, light or dark."""
    dark_window = palette.color(QPalette.ColorRole.Window).lightness() < 128
    return QColor.fromHsl(2, 200, 170 if dark_window else 95)


class Bubble(QFrame):
    """The user's question: a rounded, tinted bubble (the palette's highlight, faint)."""

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        tint = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        tint.setAlpha(40)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(tint)
        painter.drawRoundedRect(self.rect(), 12, 12)


class TurnView(QFrame):
    seek_requested = Signal(float)  # a bare time in the answer was clicked
    step_activated = Signal(object)
    step_hovered = Signal(object)

    def __init__(self, question: str, parent=None, *, thinking: bool = False):
        super().__init__(parent)
        self.setObjectName("turn")
        self.setAccessibleName("Conversation turn")
        self.answer_text = ""
        self.reasoning_text = ""
        self.answer_steps: list[Step] = []
        self._shown: tuple[str, tuple[Step, ...]] = ("", ())
        self.state = ""
        self._build(question)
        self._show_state("thinking" if thinking else "answering", "Thinking…" if thinking else "Answering…")
        self._render_soon = QTimer(self, singleShot=True, interval=RENDER_EVERY_MS)
        self._render_soon.timeout.connect(self._render_answer)
        self.steps.step_activated.connect(self.step_activated)
        self.steps.step_hovered.connect(self.step_hovered)

    def _build(self, question: str) -> None:
        self.question = QLabel(question, wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.question.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.question.setAccessibleName("Question")
        self.bubble = Bubble()
        bubble_layout = QVBoxLayout(self.bubble)
        bubble_layout.setContentsMargins(12, 8, 12, 8)
        bubble_layout.addWidget(self.question)
        self.reasoning_toggle = QToolButton(checkable=True, checked=True, autoRaise=True)
        self.reasoning_toggle.setToolTip("Show or hide the reasoning steps")
        self.reasoning_toggle.setAccessibleName("Show reasoning")
        self.reasoning_toggle.setStyleSheet(FLAT_BUTTON)
        self.reasoning_toggle.setVisible(False)
        self.steps = StepsList(self)
        self.steps.setVisible(False)
        self.reasoning_toggle.toggled.connect(self._reasoning_toggled)
        self.answer = AnswerView(self)
        self.answer.setAccessibleName("Answer")
        self.answer.setToolTip("The answer; click a time to play from it")
        self.answer.anchorClicked.connect(self._link_clicked)
        scaled_font(self.answer, 1.05)
        self.status = QLabel(accessibleName="Turn status", wordWrap=True)
        self.status.setObjectName("turnStatus")
        self.copy = QPushButton("Copy", toolTip="Copy the answer (Ctrl+Shift+C copies the last answer)")
        self.copy.setAccessibleName("Copy answer")
        self.copy.setStyleSheet(FLAT_BUTTON)
        self.copy.clicked.connect(self.copy_answer)
        self._layout()

    def _layout(self) -> None:
        asked = QHBoxLayout()
        asked.addStretch(1)
        asked.addWidget(self.bubble)
        heron = QHBoxLayout()
        heron.addWidget(role_label("Heron"), 0, Qt.AlignmentFlag.AlignVCenter)
        heron.addWidget(self.reasoning_toggle, 0, Qt.AlignmentFlag.AlignVCenter)
        heron.addStretch(1)
        footer = self._footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(self.copy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 12)
        layout.setSpacing(4)
        layout.addWidget(role_label("You", Qt.AlignmentFlag.AlignRight))
        layout.addLayout(asked)
        layout.addSpacing(8)
        layout.addLayout(heron)
        layout.addWidget(self.steps)
        layout.addWidget(self.answer)
        layout.addLayout(footer)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        widest = int(self.width() * BUBBLE_SHARE)
        margins = self.bubble.layout().contentsMargins()
        self.bubble.setMaximumWidth(widest)
        text_width = self.question.fontMetrics().horizontalAdvance(self.question.text()) + 2
        self.question.setMinimumWidth(min(text_width, widest - margins.left() - margins.right()))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.state:
            self._show_state(self.state, self.status.text())  # the status colour follows a theme switch

    # -- streaming -----------------------------------------------------------------------------
    def apply_event(self, event: Event) -> None:
        """Put one event of this turn's answer where it belongs (other kinds are not the turn's)."""
        if isinstance(event, ThinkDelta):
            self.append_reasoning(event.text)
        elif isinstance(event, TextDelta):
            self.append_answer(event.text)
        elif isinstance(event, Step):
            self.add_step(event)
        elif isinstance(event, Done):
            self.finish(event.stats)
        elif isinstance(event, Error):
            self.fail(event.message)

    def append_reasoning(self, text: str) -> None:
        self.reasoning_text += text
        self._show_reasoning()
        if self.state in RUNNING and not self.answer_text:
            self._show_state("thinking", "Thinking…")

    def append_answer(self, text: str) -> None:
        self.answer_text += text
        self._render_later()
        if self.state != "answering" and self.state in RUNNING:
            self._show_state("answering", "Answering…")

    def add_step(self, step: Step) -> None:
        if step.source == "answer":
            self.answer_steps.append(step)
            self._render_later()
            return
        self.steps.add_step(step)
        self._show_reasoning()

    def map_steps(self, change: Callable[[Step], Step]) -> None:
        """Replace every step by ``change(step)`` (e.g. snapped to its event): list, links and all."""
        self.steps.map_steps(change)
        answer_steps = [change(step) for step in self.answer_steps]
        if answer_steps != self.answer_steps:
            self.answer_steps = answer_steps
            self._render_answer()

    def finish(self, stats: dict) -> None:
        """The turn ended: done, stopped, interrupted or cut short, with what it cost."""
        self._render_soon.stop()
        self._render_answer()
        state, label = ENDINGS.get(stats.get("finish"), ("done", "Done"))
        parts = [label]
        if stats.get("new_tokens"):
            parts.append(f"{stats['new_tokens']} tokens")
        if stats.get("tokens_per_s"):
            parts.append(f"{stats['tokens_per_s']:.0f} tokens/s")
        if stats.get("ttft_s") is not None:
            parts.append(f"first token after {stats['ttft_s']:.2f} s")
        self._show_state(state, " · ".join(parts))

    def fail(self, message: str) -> None:
        """The turn failed: what went wrong stands where the answer would (any partial answer stays)."""
        self._render_soon.stop()
        self._render_answer()
        self._show_state("failed", f"⚠ {message}")

    def add_footer_button(self, button: QPushButton) -> None:
        """An extra action next to Copy (e.g. playing a spoken question back)."""
        button.setStyleSheet(FLAT_BUTTON)
        self._footer.insertWidget(self._footer.count() - 1, button)

    def copy_answer(self) -> None:
        QGuiApplication.clipboard().setText(self.answer_text)

    # -- how it looks ----------------------------------------------------------------------------
    def _show_state(self, state: str, text: str) -> None:
        """The status line: quiet and italic while running, quiet when ended, red with ⚠ when failed."""
        self.state = state
        self.setProperty("state", state)
        self.status.setText(text)
        self.status.setProperty("state", state)
        failed = state == "failed"
        colour = (
            error_colour(self.palette())
            if failed
            else self.palette().color(QPalette.ColorRole.PlaceholderText)
        )
        self.status.setStyleSheet(f"color: {colour.name(QColor.NameFormat.HexArgb)};")  # over the app's sheet
        self.status.setFont(self.font())
        scaled_font(self.status, 1.0 if failed else 0.9, bold=failed, italic=state in RUNNING)
        self.status.setAccessibleDescription(text)
        self.copy.setVisible(state not in RUNNING and bool(self.answer_text))

    def _show_reasoning(self) -> None:
        count = len(self.steps.steps())
        opened = self.reasoning_toggle.isChecked()
        arrow = "▾" if opened else "▸"
        self.reasoning_toggle.setText(
            f"{arrow} Reasoning" + (f" · {count} step{'s' * (count != 1)}" if count else "")
        )
        self.reasoning_toggle.setVisible(True)
        self.steps.setVisible(opened and count > 0)

    def _reasoning_toggled(self, _opened: bool) -> None:
        self._show_reasoning()

    def _render_later(self) -> None:
        if not self._render_soon.isActive():
            self._render_soon.start(max(RENDER_EVERY_MS, int(RENDER_SHARE * 1000 * self.answer.render_s)))

    def _render_answer(self) -> None:
        """The answer as Markdown, each cited time its own link (the answer's steps say where)."""
        shown = (self.answer_text, tuple(self.answer_steps))
        if shown != self._shown:  # the end of a stream often has nothing new to draw
            self._shown = shown
            self.answer.show_markdown(linked_markdown(self.answer_text, self.answer_steps))

    def _link_clicked(self, url) -> None:
        """A time in the answer plays its step, like a click in the list (``t:`` links: a bare time);
        the steps list selects the step citing that moment."""
        if url.scheme() == "step":
            step = next((s for s in self.answer_steps if str(s.index) == url.path()), None)
            if step is not None and step.start_s is not None:
                self.steps.select_time(step.start_s, step.end_s)
                self.step_activated.emit(step)
        elif url.scheme() == "t":
            seconds = float(url.path())
            self.steps.select_time(seconds)
            self.seek_requested.emit(seconds)
