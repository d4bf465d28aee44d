"""The sidebar on the real window: Delete takes a conversation off the list with an Undo for a few
seconds (then the history loses it), apart from Export in the menu; relative dates; no sideways
scrolling."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import Qt

from engine.history import HistoryStore
from ui.conversation_list import relative_when


def add_conversations(controller, *titles: str) -> list[int]:
    ids = [controller.store.create_conversation(title, "tiny") for title in titles]
    controller.refresh_conversations()
    return ids


def stored_ids(controller) -> set[int]:
    return {s.id for s in controller.store.list_conversations()}


def test_delete_can_be_undone_and_goes_through_after_the_undo_time(app, qtbot):
    window, controller = app
    sidebar = window.conversations
    keep, doomed = add_conversations(controller, "Keep me", "A long meeting about the budget")
    menu = sidebar.build_menu(doomed)
    next(a for a in menu.actions() if a.text() == "Delete").trigger()
    assert doomed not in sidebar.ids() and sidebar.undo_strip.isVisible()
    assert "A long meeting" in sidebar.undo_label.text()
    assert doomed in stored_ids(controller), "nothing is lost while Undo is offered"

    qtbot.mouseClick(sidebar.undo_button, Qt.MouseButton.LeftButton)
    assert set(sidebar.ids()) == {keep, doomed} and not sidebar.undo_strip.isVisible()

    sidebar.list.setCurrentRow(sidebar.ids().index(doomed))
    sidebar.list.setFocus()
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Delete)
    assert doomed not in sidebar.ids()
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert set(sidebar.ids()) == {keep, doomed}, "Ctrl+Z in the sidebar undoes it too"

    sidebar.undo_timer.setInterval(50)
    sidebar.list.setCurrentRow(sidebar.ids().index(doomed))
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Delete)
    assert doomed not in sidebar.ids()
    qtbot.waitUntil(lambda: doomed not in stored_ids(controller), timeout=5_000)
    assert not sidebar.undo_strip.isVisible() and sidebar.ids() == [keep]


def test_a_delete_pending_at_quit_goes_through(app, qtbot):
    from app import paths

    window, controller = app
    (doomed,) = add_conversations(controller, "Gone at quit")
    window.conversations.delete(doomed)
    controller.shutdown()
    with HistoryStore(paths.history_path()) as store:
        assert doomed not in {s.id for s in store.list_conversations()}


def test_delete_sits_apart_from_export_in_the_menu(app):
    window, controller = app
    (conversation,) = add_conversations(controller, "Menu")
    actions = window.conversations.build_menu(conversation).actions()
    texts = [a.text() if not a.isSeparator() else "---" for a in actions]
    assert texts == ["Rename…", "Export…", "---", "Delete"]


def test_entries_say_when_as_people_do_and_never_scroll_sideways(app):
    window, controller = app
    now = datetime(2026, 12, 5, 15, 30)
    assert relative_when(now - timedelta(seconds=20), now) == "just now"
    assert relative_when(now - timedelta(minutes=12), now) == "12 min ago"
    assert relative_when(datetime(2026, 12, 5, 9, 5), now) == "today, 09:05"
    assert relative_when(datetime(2026, 12, 4, 22, 0), now) == "yesterday, 22:00"
    assert relative_when(datetime(2026, 12, 1, 8, 0), now) == "Tuesday"
    assert relative_when(datetime(2026, 3, 12, 8, 0), now) == "12 Mar"
    assert relative_when(datetime(2025, 3, 12, 8, 0), now) == "12 Mar 2025"
    add_conversations(controller, "A conversation with a very long title " * 4)
    sidebar = window.conversations
    assert sidebar.list.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert not sidebar.list.horizontalScrollBar().isVisible()
    assert sidebar.list.item(0).data(Qt.ItemDataRole.UserRole + 1).startswith("just now · 0 turns")
    sidebar.refresh_times(datetime.now().astimezone() + timedelta(minutes=5))
    assert sidebar.list.item(0).data(Qt.ItemDataRole.UserRole + 1) == "5 min ago · 0 turns"
