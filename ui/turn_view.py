"""One question and its answer as it streams in: reasoning steps, answer, status."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QToolButton, QVBoxLayout

from engine.events import Done, Error, Event, Finish, Step, TextDelta, ThinkDelta
from ui.steps_list import StepsList
from ui.timefmt import anchor_label, snap_note

RENDER_EVERY_MS = 33


class TurnView(QFrame):
    seek_requested = Signal(float)  # a timestamp in the answer was clicked
    step_activated = Signal(object)
    step_hovered = Signal(object)

    def __init__(self, question: str, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Conversation turn")
        self.answer_text = ""
        self.reasoning_text = ""
        self.answer_steps: list[Step] = []
        self.question = QLabel(f"<b>You:</b> {html.escape(question)}", wordWrap=True)
        self.question.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.question.setAccessibleName("Question")
        self.reasoning_toggle = QToolButton(text="Reasoning", checkable=True, checked=True)
        self.reasoning_toggle.setToolTip("Show or hide the reasoning steps")
        self.reasoning_toggle.setAccessibleName("Show reasoning")
        self.reasoning_toggle.setVisible(False)
        self.steps = StepsList(self)
        self.steps.setVisible(False)
        self.reasoning_toggle.toggled.connect(self.steps.setVisible)
        self.answer = QTextBrowser(openLinks=False, openExternalLinks=False)
        self.answer.setAccessibleName("Answer")
        self.answer.setToolTip("The answer; click a time to play from it")
        self.answer.anchorClicked.connect(self._link_clicked)
        self.answer.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.status = QLabel("Thinking…", accessibleName="Turn status")
        self.copy = QPushButton("Copy", toolTip="Copy the answer (Ctrl+Shift+C copies the last answer)")
        self.copy.setAccessibleName("Copy answer")
        self.copy.clicked.connect(self.copy_answer)
        self._render_soon = QTimer(self, singleShot=True, interval=RENDER_EVERY_MS)
        self._render_soon.timeout.connect(self._render_answer)
        self._layout()
        self.steps.step_activated.connect(self.step_activated)
        self.steps.step_hovered.connect(self.step_hovered)

    def _layout(self) -> None:
        footer = self._footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(self.copy)
        layout = QVBoxLayout(self)
        for widget in (self.question, self.reasoning_toggle, self.steps, self.answer):
            layout.addWidget(widget)
        layout.addLayout(footer)

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
        self.reasoning_toggle.setVisible(True)
        self.steps.setVisible(self.reasoning_toggle.isChecked())

    def append_answer(self, text: str) -> None:
        self.answer_text += text
        if not self._render_soon.isActive():  # tokens arrive faster than anyone reads: redraw ~30×/s
            self._render_soon.start()
        self.status.setText("Answering…")

    def add_step(self, step: Step) -> None:
        if step.source == "answer":
            self.answer_steps.append(step)
            self._render_answer()
            return
        self.reasoning_toggle.setVisible(True)
        self.steps.setVisible(self.reasoning_toggle.isChecked())
        self.steps.add_step(step)

    def map_steps(self, change: Callable[[Step], Step]) -> None:
        """Replace every step by ``change(step)`` (e.g. snapped to its event): list, links and all."""
        self.steps.map_steps(change)
        answer_steps = [change(step) for step in self.answer_steps]
        if answer_steps != self.answer_steps:
            self.answer_steps = answer_steps
            self._render_answer()

    def finish(self, stats: dict) -> None:
        self._render_soon.stop()
        self._render_answer()
        finish = stats.get("finish")
        parts = {Finish.CANCELLED: ["Stopped"], Finish.INTERRUPTED: ["Interrupted"],
                 Finish.LENGTH: ["Cut at the answer-length limit"]}.get(finish, [])  # fmt: skip
        if stats.get("new_tokens"):
            parts.append(f"{stats['new_tokens']} tokens")
        if stats.get("tokens_per_s"):
            parts.append(f"{stats['tokens_per_s']:.0f} tokens/s")
        if stats.get("ttft_s") is not None:
            parts.append(f"first token after {stats['ttft_s']:.2f} s")
        self.status.setText(" · ".join(parts) or "Done")

    def fail(self, message: str) -> None:
        self.status.setText(f"⚠ {message}")
        self.status.setWordWrap(True)

    def add_footer_button(self, button: QPushButton) -> None:
        """An extra action next to Copy (e.g. playing a spoken question back)."""
        self._footer.insertWidget(self._footer.count() - 1, button)

    def copy_answer(self) -> None:
        QGuiApplication.clipboard().setText(self.answer_text)

    # -- rendering -----------------------------------------------------------------------------
    def _render_answer(self) -> None:
        """The answer as HTML, each cited time a link (its span comes from the answer's steps)."""
        pieces, last = [], 0
        for step in sorted(self.answer_steps, key=lambda s: s.char_start):
            if step.char_start < last or step.char_end > len(self.answer_text):
                continue
            pieces.append(html.escape(self.answer_text[last : step.char_start]))
            cited = html.escape(self.answer_text[step.char_start : step.char_end])
            title = html.escape(
                snap_note(step) if step.snapped else f"Play from {anchor_label(step.start_s, step.end_s)}"
            )
            pieces.append(f'<a href="step:{step.index}" title="{title}">{cited}</a>')
            last = step.char_end
        pieces.append(html.escape(self.answer_text[last:]))
        self.answer.setHtml("<p>" + "".join(pieces).replace("\n", "<br>") + "</p>")
        self._fit_answer()

    def _fit_answer(self) -> None:
        document = self.answer.document()
        document.setTextWidth(max(self.answer.viewport().width(), 200))
        self.answer.setFixedHeight(int(document.size().height()) + 2 * self.answer.frameWidth() + 4)

    def _link_clicked(self, url) -> None:
        """A time in the answer plays its step, like a click in the list (``t:`` links: a bare time)."""
        if url.scheme() == "step":
            step = next((s for s in self.answer_steps if str(s.index) == url.path()), None)
            if step is not None:
                self.step_activated.emit(step)
        elif url.scheme() == "t":
            self.seek_requested.emit(float(url.path()))
