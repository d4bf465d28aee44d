"""The conversations from the history, newest first, with rename, delete and export."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QMenu, QPushButton, QVBoxLayout, QWidget

ID_ROLE = Qt.ItemDataRole.UserRole


class ConversationList(QWidget):
    opened = Signal(int)  # conversation id
    new_requested = Signal()
    rename_requested = Signal(int)
    delete_requested = Signal(int)
    export_requested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.new_button = QPushButton("New conversation", toolTip="Start a new conversation (Ctrl+N)")
        self.new_button.setAccessibleName("New conversation")
        self.new_button.clicked.connect(self.new_requested)
        self.list = QListWidget()
        self.list.setAccessibleName("Conversations")
        self.list.setToolTip("Past conversations: Enter opens one; its menu renames, exports or deletes it")
        self.list.itemActivated.connect(lambda item: self.opened.emit(item.data(ID_ROLE)))
        self.list.itemClicked.connect(lambda item: self.opened.emit(item.data(ID_ROLE)))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.new_button)
        layout.addWidget(self.list)

    def set_conversations(self, summaries, current_id: int | None = None) -> None:
        self.list.clear()
        for summary in summaries:
            when = summary.updated.astimezone().strftime("%d %b %H:%M")
            item = QListWidgetItem(f"{summary.title}\n{when} · {summary.turn_count} turn(s)")
            item.setData(ID_ROLE, summary.id)
            item.setToolTip(summary.recording_path or "No recording")
            self.list.addItem(item)
            if summary.id == current_id:
                self.list.setCurrentItem(item)

    def ids(self) -> list[int]:
        return [self.list.item(i).data(ID_ROLE) for i in range(self.list.count())]

    def _menu(self, point) -> None:
        item = self.list.itemAt(point)
        if item is None:
            return
        conversation = item.data(ID_ROLE)
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.rename_requested.emit(conversation))
        menu.addAction("Export…", lambda: self.export_requested.emit(conversation))
        menu.addAction("Delete", lambda: self.delete_requested.emit(conversation))
        menu.exec(self.list.mapToGlobal(point))
