"""The model manager: what is installed, what can be downloaded, licences, progress, import."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ui.adapter_list import AdapterList


@dataclass(frozen=True)
class ModelRow:
    name: str
    title: str
    summary: str
    licence: str
    size: str  # "9.8 GB on disk" or "about 16.5 GB to download"
    installed: bool
    in_use: bool = False
    importable: bool = True  # a folder can hold it (AF-Next checkpoints; not the voices)
    kind: str = "model"  # "model" answers questions; "voice" speaks the answers
    downloadable: bool = True  # Download fetches it (not a voice that comes with the install)
    removable: bool = True  # Remove may delete it (not a voice that comes with the install)
    recommended: bool = False  # the one that fits this computer best (engine/model/fit.py)


COLUMNS = ("Model", "What it is for", "Size", "Status", "Licence")


class ModelManager(QDialog):
    download_requested = Signal(str)
    cancel_requested = Signal()
    import_requested = Signal(str)  # the variant the folder holds; the app asks for the folder
    use_requested = Signal(str)  # a model row's name
    use_voice_requested = Signal(str)  # a voice row's name
    remove_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setAccessibleName("Model manager")
        self.resize(980, 700)
        self.recommendation = QLabel(wordWrap=True, accessibleName="Recommendation")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Models")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for column, width in ((0, 150), (2, 130), (3, 150)):  # short texts; the long ones stretch and wrap
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.progress = QProgressBar(accessibleName="Download progress", visible=False)
        self.progress_label = QLabel(accessibleName="Download status")
        self.buttons = {
            "download": self._button(
                "Download", "Download the selected model (resumes if interrupted)", self._download
            ),
            "cancel": self._button(
                "Cancel download", "Stop the download; it resumes next time", self.cancel_requested
            ),
            "import": self._button(
                "Import folder…", "Copy a model from a folder (for offline machines)", self._import
            ),
            "use": self._button("Use this model", "Answer with the selected model (Enter)", self._use),
            "remove": self._button("Remove", "Delete the selected model's files", self._remove),
        }
        self._layout()
        self.set_downloading(False)

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, toolTip=tip)
        button.setAccessibleName(text.rstrip("…"))
        button.clicked.connect(slot)
        return button

    def _layout(self) -> None:
        row = QHBoxLayout()
        for button in self.buttons.values():
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.recommendation)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addLayout(row)
        self.adapters = AdapterList()  # trained adapters, beside the models they adapt
        layout.addWidget(self.adapters, 1)

    # -- content -------------------------------------------------------------------------------
    def set_rows(self, rows: list[ModelRow]) -> None:
        """Fill the table; the selection stays, or falls on the model in use, else the recommended one."""
        selected = self.selected() or next(
            (row.name for row in rows if row.in_use and row.kind == "model"),
            next((row.name for row in rows if row.recommended), None),
        )
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate((row.title, row.summary, row.size, _status(row), row.licence)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row)
                item.setToolTip(text)
                if row.recommended:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
            if row.name == selected:
                self.table.selectRow(r)
        self._update_buttons()

    def rows(self) -> list[ModelRow]:
        return [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.table.rowCount())]

    def select(self, name: str) -> None:
        for r, row in enumerate(self.rows()):
            if row.name == name:
                self.table.selectRow(r)

    def selected(self) -> str | None:
        row = self._selected_row()
        return row.name if row else None

    def set_recommendation(self, text: str) -> None:
        self.recommendation.setText(text)

    def set_downloading(self, active: bool) -> None:
        self.progress.setVisible(active)
        self.buttons["cancel"].setVisible(active)
        self._downloading = active
        self._update_buttons()

    def show_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.progress_label.setText(text)

    def show_message(self, text: str) -> None:
        self.progress_label.setText(text)

    # -- actions -------------------------------------------------------------------------------
    def _selected_row(self) -> ModelRow | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _update_buttons(self) -> None:
        row = self._selected_row()
        busy = getattr(self, "_downloading", False)
        self.buttons["download"].setEnabled(bool(row) and row.downloadable and not row.installed and not busy)
        self.buttons["import"].setEnabled(bool(row) and row.importable and not busy)
        self.buttons["use"].setEnabled(bool(row) and row.installed)
        self.buttons["use"].setText("Use this voice" if row and row.kind == "voice" else "Use this model")
        removable = bool(row) and row.removable and (row.installed or row.kind == "voice")
        self.buttons["remove"].setEnabled(removable and not row.in_use and not busy)

    def _download(self) -> None:
        if name := self.selected():
            self.download_requested.emit(name)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.table.setFocus()  # the selected row, ready for Enter or the arrow keys

    def _import(self) -> None:
        if name := self.selected():
            self.import_requested.emit(name)

    def _use(self) -> None:
        row = self._selected_row()
        if row is not None:
            (self.use_voice_requested if row.kind == "voice" else self.use_requested).emit(row.name)

    def _remove(self) -> None:
        if name := self.selected():
            self.remove_requested.emit(name)


def _status(row: ModelRow) -> str:
    state = "in use" if row.in_use else ("installed" if row.installed else "not downloaded")
    return f"★ recommended · {state}" if row.recommended else state
