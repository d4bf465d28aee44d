"""Trained adapters beside the models: name, base model, date and final metrics, with Use / Remove.

Shown in the model manager; rows come from app/models_panel.py (adapter metadata), and the
buttons say which adapter's folder the user chose.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class AdapterRow:
    name: str
    path: str  # the adapter's folder
    base_model: str
    created: str  # "2026-11-27" or ""
    metrics: str  # "eval loss 0.213, 92% exact, 400 steps"
    in_use: bool = False


COLUMNS = ("Adapter", "Base model", "Trained", "Final metrics", "Status")


class AdapterList(QWidget):
    use_requested = Signal(str)  # the adapter's folder
    remove_requested = Signal(str)
    base_requested = Signal()  # stop using any adapter

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS), accessibleName="Adapters")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setToolTip("Adapters you trained (Tools → Fine-tune…), in Heron's adapters folder")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.empty = QLabel(
            "No adapters yet: train one with Tools → Fine-tune…", accessibleName="No adapters"
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.use = self._button(
            "Use adapter", "Answer with the selected adapter on top of its model", self._use
        )
        self.base = self._button("Use base model", "Answer with the model alone", self.base_requested)
        self.remove = self._button("Remove adapter", "Delete the selected adapter's folder", self._remove)
        buttons = QHBoxLayout()
        for button in (self.use, self.base, self.remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Adapters</b>"))
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.set_rows([])

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, toolTip=tip, accessibleName=text)
        button.clicked.connect(slot)
        return button

    def set_rows(self, rows: list[AdapterRow]) -> None:
        selected = self.selected()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (row.name, row.base_model, row.created, row.metrics, "in use" if row.in_use else "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row)
                item.setToolTip(row.path if c == 0 else text)
                self.table.setItem(r, c, item)
            if row.path == selected:
                self.table.selectRow(r)
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        for button in (self.use, self.base, self.remove):
            button.setVisible(bool(rows))  # nothing to act on until an adapter exists
        self.base.setEnabled(any(row.in_use for row in rows))
        self._update_buttons()

    def rows(self) -> list[AdapterRow]:
        return [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.table.rowCount())]

    def select(self, path: str) -> None:
        for r, row in enumerate(self.rows()):
            if row.path == path:
                self.table.selectRow(r)

    def selected(self) -> str | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole).path if items else None

    def _selected_row(self) -> AdapterRow | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _update_buttons(self) -> None:
        row = self._selected_row()
        self.use.setEnabled(bool(row) and not row.in_use)
        self.remove.setEnabled(bool(row) and not row.in_use)

    def _use(self) -> None:
        if path := self.selected():
            self.use_requested.emit(path)

    def _remove(self) -> None:
        if path := self.selected():
            self.remove_requested.emit(path)
