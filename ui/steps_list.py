"""The reasoning chain as a real list a screen reader can read: one item per step, each time once."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from engine.events import Step
from engine.reasoning import find_anchors
from ui.timefmt import anchor_label, snap_note

STEP_ROLE = Qt.ItemDataRole.UserRole
NEAR_S = 0.5  # cited times are whole seconds: a moment this close to a step's span is that step's
# Quiet, in the flow of the turn: a rule at the left instead of the app's boxed list.
LOOK = """
QListWidget { background: transparent; border: none; border-left: 2px solid palette(mid);
              border-radius: 0; padding-left: 4px; }
QListWidget::item { padding: 2px 4px; border-radius: 4px; }
"""


class StepsList(QListWidget):
    step_activated = Signal(object)  # a Step with a time: click, or Enter on the selected one
    step_hovered = Signal(object)  # the Step under the mouse, or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Reasoning steps")
        self.setToolTip("Reasoning steps: click one, or select it and press Enter, to play from its moment")
        self.setWordWrap(True)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet(LOOK)
        self.itemClicked.connect(self._activate)
        self.itemActivated.connect(self._activate)
        self.itemEntered.connect(lambda item: self.step_hovered.emit(item.data(STEP_ROLE)))

    def add_step(self, step: Step) -> None:
        item = QListWidgetItem()
        self._show(item, step)
        self.addItem(item)
        self._fit_height()

    def steps(self) -> list[Step]:
        return [self.item(i).data(STEP_ROLE) for i in range(self.count())]

    def map_steps(self, change: Callable[[Step], Step]) -> None:
        """Replace each step by ``change(step)`` (e.g. the same step snapped to its event)."""
        for row in range(self.count()):
            item = self.item(row)
            step = change(item.data(STEP_ROLE))
            if step != item.data(STEP_ROLE):
                self._show(item, step)
        self._fit_height()

    def _show(self, item: QListWidgetItem, step: Step) -> None:
        """The step as cited, with where it really plays from in its tooltip."""
        label = anchor_label(step.start_s, step.end_s)
        warning = "  (beyond the end of the recording)" if step.past_end else ""
        item.setText(f"{'' if _cites_itself(step) else label} {step.text}{warning}".strip())
        item.setData(STEP_ROLE, step)
        if step.start_s is not None:
            note = snap_note(step)
            item.setToolTip(f"{note} (click to play from there)" if step.snapped else f"Play from {label}")

    def highlight(self, index: int | None) -> None:
        """Select the step with this index (hovered on the waveform), or none."""
        for row in range(self.count()):
            if self.item(row).data(STEP_ROLE).index == index:
                self.setCurrentRow(row)
                return
        self.clearSelection()

    def select_time(self, start_s: float, end_s: float | None = None) -> None:
        """Select the step citing this moment or span (an answer's time was clicked), or none."""
        end_s = start_s if end_s is None else end_s
        near = [
            (abs(step.start_s - start_s), row)
            for row, step in enumerate(self.steps())
            if step.start_s is not None
            and step.start_s - NEAR_S <= end_s
            and start_s <= (step.end_s if step.end_s is not None else step.start_s) + NEAR_S
        ]
        self.setCurrentRow(min(near)[1] if near else -1)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.step_hovered.emit(None)
        super().leaveEvent(event)

    def _activate(self, item: QListWidgetItem) -> None:
        step = item.data(STEP_ROLE)
        if step.start_s is not None:
            self.step_activated.emit(step)

    def _fit_height(self) -> None:
        """Grow with the chain: the chat scrolls, not the list."""
        margins = self.contentsMargins()
        rows = sum(self.sizeHintForRow(r) for r in range(self.count()))
        self.setFixedHeight(rows + margins.top() + margins.bottom() + 2 * self.spacing() + 2)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.doItemsLayout()  # wrapped lines re-wrap at the new width
            self._fit_height()


def _cites_itself(step: Step) -> bool:
    """Whether the step's text already shows its time as the window writes it (a label would repeat it)."""
    label = anchor_label(step.start_s, step.end_s)
    return any(anchor_label(a.start_s, a.end_s) == label for a in find_anchors(step.text))
