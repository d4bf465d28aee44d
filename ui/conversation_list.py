"""The sidebar: the conversations from the history, newest first, with rename, export and delete.

Each entry shows its title and, muted below it, when it was last used ("2 min ago", "yesterday,
09:12", "Monday") and its number of turns; long titles end in "…" rather than scroll sideways.
Delete takes effect after a few seconds with an Undo beside the list (the Delete key works too);
the app hears ``delete_requested`` only once that time has passed, or on quit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme

ID_ROLE = Qt.ItemDataRole.UserRole
DETAIL_ROLE = Qt.ItemDataRole.UserRole + 1  # the muted second line
UNDO_MS = 8000  # how long a deleted conversation can be brought back


def relative_when(moment: datetime, now: datetime | None = None) -> str:
    """When, as a person says it: "just now", "5 min ago", "today, 14:05", "yesterday, 09:12",
    "Monday", "12 Mar", "12 Mar 2025"."""
    now = now or datetime.now(moment.tzinfo)
    age = now - moment
    if age < timedelta(minutes=1):
        return "just now"
    if age < timedelta(hours=1):
        return f"{int(age.total_seconds() // 60)} min ago"
    days = (now.date() - moment.date()).days
    if days == 0:
        return f"today, {moment:%H:%M}"
    if days == 1:
        return f"yesterday, {moment:%H:%M}"
    if days < 7:
        return f"{moment:%A}"
    return f"{moment.day} {moment:%b}" + ("" if moment.year == now.year else f" {moment.year}")


class EntryDelegate(QStyledItemDelegate):
    """Two lines an entry: the title, and when and how long below it in a quieter colour."""

    PAD = 10

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt's name)
        height = option.fontMetrics.height()
        return QSize(120, 2 * height + 2 * self.PAD + 4)

    def paint(self, painter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title, opt.text = opt.text, ""
        widget = option.widget
        style = widget.style() if widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)  # background, hover
        area = option.rect.adjusted(self.PAD + 6, self.PAD, -self.PAD - 6, -self.PAD)
        line = option.fontMetrics.height()
        painter.save()
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        elided = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, area.width())
        painter.drawText(QRect(area.left(), area.top(), area.width(), line + 2), 0, elided)
        painter.setFont(option.font)
        painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
        detail = option.fontMetrics.elidedText(
            index.data(DETAIL_ROLE) or "", Qt.TextElideMode.ElideRight, area.width()
        )
        painter.drawText(QRect(area.left(), area.top() + line + 4, area.width(), line + 2), 0, detail)
        painter.restore()


class ConversationList(QWidget):
    opened = Signal(int)  # conversation id
    new_requested = Signal()
    rename_requested = Signal(int)
    delete_requested = Signal(int)  # after the undo time: the app deletes it for good
    export_requested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumWidth(200)
        self.new_button = QPushButton("New conversation", toolTip="Start a new conversation (Ctrl+N)")
        self.new_button.setAccessibleName("New conversation")
        theme.set_icon(self.new_button, "new")
        self.new_button.clicked.connect(self.new_requested)
        self.list = self._build_list()
        self._summaries: list = []
        self._pending: tuple[int, str] | None = None  # (id, title) deleted, still undoable
        self.undo_timer = QTimer(self, singleShot=True, interval=UNDO_MS)
        self.undo_timer.timeout.connect(self.commit_pending_delete)
        self.clock = QTimer(self, interval=60_000)  # "2 min ago" stays true while the window is open
        self.clock.timeout.connect(self.refresh_times)
        self.clock.start()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 6, 10)
        layout.setSpacing(8)
        layout.addWidget(self.new_button)
        title = QLabel("Conversations", objectName="sidebarTitle")
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addWidget(self._build_undo_strip())

    def _build_list(self) -> QListWidget:
        view = QListWidget()
        view.setAccessibleName("Conversations")
        view.setToolTip(
            "Past conversations: Enter opens one; its menu renames, exports or deletes it (Delete)"
        )
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.setItemDelegate(EntryDelegate(view))
        view.itemActivated.connect(lambda item: self.opened.emit(item.data(ID_ROLE)))
        view.itemClicked.connect(lambda item: self.opened.emit(item.data(ID_ROLE)))
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._menu)
        QShortcut(QKeySequence.StandardKey.Delete, view, self._delete_current,
                  context=Qt.ShortcutContext.WidgetShortcut)  # fmt: skip
        return view

    def _build_undo_strip(self) -> QWidget:
        self.undo_strip = QWidget(objectName="undoStrip")
        self.undo_strip.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.undo_label = QLabel(accessibleName="Deleted conversation")
        self.undo_label.setWordWrap(True)
        self.undo_button = QPushButton("Undo", toolTip="Bring the conversation back (Ctrl+Z)")
        self.undo_button.setAccessibleName("Undo delete")
        theme.set_icon(self.undo_button, "undo")
        self.undo_button.clicked.connect(self.undo_delete)
        QShortcut(QKeySequence.StandardKey.Undo, self, self.undo_delete,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)  # fmt: skip
        row = QHBoxLayout(self.undo_strip)
        row.setContentsMargins(10, 6, 6, 6)
        row.addWidget(self.undo_label, 1)
        row.addWidget(self.undo_button)
        self.undo_strip.hide()
        return self.undo_strip

    # -- content -------------------------------------------------------------------------------
    def set_conversations(self, summaries, current_id: int | None = None) -> None:
        self._summaries = list(summaries)
        self.list.clear()
        pending = self._pending[0] if self._pending else None
        for summary in self._summaries:
            if summary.id == pending:
                continue
            item = QListWidgetItem(summary.title)
            item.setData(ID_ROLE, summary.id)
            item.setData(DETAIL_ROLE, _detail(summary))
            recording = summary.recording_path or "no recording"
            item.setToolTip(f"{summary.title}\n{recording}\n{summary.updated.astimezone():%d %b %Y, %H:%M}")
            self.list.addItem(item)
            if summary.id == current_id:
                self.list.setCurrentItem(item)

    def refresh_times(self, now: datetime | None = None) -> None:
        by_id = {s.id: s for s in self._summaries}
        for row in range(self.list.count()):
            item = self.list.item(row)
            if (summary := by_id.get(item.data(ID_ROLE))) is not None:
                item.setData(DETAIL_ROLE, _detail(summary, now))

    def ids(self) -> list[int]:
        return [self.list.item(i).data(ID_ROLE) for i in range(self.list.count())]

    # -- the menu and deleting -----------------------------------------------------------------
    def build_menu(self, conversation: int) -> QMenu:
        menu = QMenu(self)
        menu.setAccessibleName("Conversation actions")
        menu.addAction(theme.icon("rename"), "Rename…", lambda: self.rename_requested.emit(conversation))
        menu.addAction(theme.icon("export"), "Export…", lambda: self.export_requested.emit(conversation))
        menu.addSeparator()  # apart from the rest: not one slip below Export
        delete = menu.addAction(theme.icon("delete"), "Delete", lambda: self.delete(conversation))
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setToolTip("Delete it (Undo brings it back for a few seconds)")
        return menu

    def _menu(self, point) -> None:
        item = self.list.itemAt(point)
        if item is not None:
            self.build_menu(item.data(ID_ROLE)).exec(self.list.mapToGlobal(point))

    def _delete_current(self) -> None:
        if (item := self.list.currentItem()) is not None:
            self.delete(item.data(ID_ROLE))

    def delete(self, conversation: int) -> None:
        """Take it off the list now, for good after UNDO_MS unless Undo is pressed."""
        self.commit_pending_delete()  # one undo at a time: an earlier delete goes through
        title = next((s.title for s in self._summaries if s.id == conversation), "the conversation")
        self._pending = (conversation, title)
        self.set_conversations(self._summaries, self._current_id())
        self.undo_label.setText(f"Deleted “{title}”")
        self.undo_strip.show()
        self.undo_timer.start()

    def undo_delete(self) -> None:
        if (conversation := self._take_pending()) is None:
            return
        self.set_conversations(self._summaries, self._current_id())
        for row, item_id in enumerate(self.ids()):
            if item_id == conversation:
                self.list.setCurrentRow(row)
        self.list.setFocus()

    def commit_pending_delete(self) -> None:
        """The undo time is over (or the app is closing): the app deletes it."""
        if (conversation := self._take_pending()) is None:
            return
        self._summaries = [s for s in self._summaries if s.id != conversation]
        self.delete_requested.emit(conversation)

    def _take_pending(self) -> int | None:
        """The conversation waiting to be deleted, if any, no longer waiting (the undo strip goes)."""
        if self._pending is None:
            return None
        conversation = self._pending[0]
        self._pending = None
        self.undo_timer.stop()
        self.undo_strip.hide()
        return conversation

    def _current_id(self) -> int | None:
        item = self.list.currentItem()
        return item.data(ID_ROLE) if item is not None else None


def _detail(summary, now: datetime | None = None) -> str:
    turns = f"{summary.turn_count} turn" + ("" if summary.turn_count == 1 else "s")
    return f"{relative_when(summary.updated.astimezone(), now)} · {turns}"
