"""The window's turns always end in a state it shows and the history agrees with (issue 16).

The real window offscreen, answering with the tiny model: a second question while one is
answered, a failed turn reopened, a failed open, a recording gone before the question.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.history import HistoryStore, TurnState
from tests import media


@pytest.fixture
def tones(tmp_path: Path) -> Path:
    return media.write_wav(tmp_path / "tones.wav", media.tone(seconds=6.0), 16000)


def idle(controller) -> bool:
    return not controller.bridge.busy and controller.turn_view is None


def open_and_wait(window, controller, qtbot, path: Path) -> None:
    window.recording_chosen.emit(str(path))
    qtbot.waitUntil(lambda: controller.recording == str(path), timeout=20_000)


def test_a_second_question_while_answering_is_refused_and_the_first_one_finishes(app, qtbot, tones):
    window, controller = app
    open_and_wait(window, controller, qtbot, tones)
    window.input.text.setText("What do you hear?")
    qtbot.keyClick(window.input.text, Qt.Key.Key_Return)
    assert not window.input.send.isEnabled() and "answer" in window.input.send.toolTip().lower()
    window.input.text.setText("And then?")
    qtbot.keyClick(window.input.text, Qt.Key.Key_Return)  # refused: the question stays in the box
    controller.ask("And then?")  # however it comes, it is refused while an answer runs
    assert window.input.text.text() == "And then?"
    assert len(window.chat.turns) == 1
    qtbot.waitUntil(lambda: idle(controller), timeout=60_000)
    turn = window.chat.current
    assert "tokens" in turn.status.text(), turn.status.text()
    assert window.input.send.isEnabled() and not window.input.stop.isEnabled()
    assert not window.progress.isVisible()
    (summary,) = controller.store.list_conversations()
    (stored,) = controller.store.get_conversation(summary.id).turns
    assert stored.state == TurnState.DONE and stored.answer == turn.answer_text


def test_stop_then_ask_again_ends_both_turns(app, qtbot, tones):
    window, controller = app
    controller.settings.max_new_tokens = 20000
    controller.ask("Tell me everything.")
    qtbot.waitUntil(lambda: bool(window.chat.current.answer_text), timeout=60_000)
    window.stop_requested.emit()
    controller.settings.max_new_tokens = 8
    qtbot.waitUntil(lambda: window.input.send.isEnabled(), timeout=20_000)
    controller.ask("Shorter, please.")
    qtbot.waitUntil(lambda: idle(controller), timeout=60_000)
    first, second = window.chat.turns
    assert first.status.text().startswith("Stopped") and "tokens" in second.status.text()
    (summary,) = controller.store.list_conversations()
    states = [t.state for t in controller.store.get_conversation(summary.id).turns]
    assert states == [TurnState.INTERRUPTED, TurnState.DONE]


def test_a_new_conversation_while_answering_keeps_the_old_answer_in_its_own(app, qtbot):
    window, controller = app
    controller.settings.max_new_tokens = 20000
    controller.ask("Tell me everything.")
    qtbot.waitUntil(lambda: bool(window.chat.current.answer_text), timeout=60_000)
    window.conversations.new_requested.emit()
    controller.settings.max_new_tokens = 8
    controller.ask("Something else.")
    qtbot.waitUntil(lambda: idle(controller), timeout=60_000)
    (only,) = window.chat.turns
    assert "tokens" in only.status.text(), only.status.text()
    conversations = controller.store.list_conversations()
    states = sorted(t.state for c in conversations for t in controller.store.get_conversation(c.id).turns)
    assert states == sorted([TurnState.INTERRUPTED, TurnState.DONE])


def test_a_failed_turn_reopens_failed_with_its_error(app, qtbot, tones):
    window, controller = app
    from app import paths

    with HistoryStore(paths.history_path()) as store:
        conversation = store.create_conversation("Tones", "tiny")
        done = store.begin_turn(conversation, "First?")
        store.finish_turn(done, "An answer.", "", [], {"finish": "stop", "new_tokens": 3})
        failed = store.begin_turn(conversation, "Second?")
        store.fail_turn(failed, "The model ran out of memory.", "", "")
        stopped = store.begin_turn(conversation, "Third?")
        store.finish_turn(stopped, "Half", "", [], {"finish": "cancelled"}, interrupted=True)
        store.begin_turn(conversation, "Fourth?")  # never finished: its process is this one, alive
    controller.open_conversation(conversation)
    statuses = [view.status.text() for view in window.chat.turns]
    assert "tokens" in statuses[0]
    assert statuses[1].startswith("⚠") and "out of memory" in statuses[1]
    assert statuses[2].startswith("Stopped")
    assert "not finished" in statuses[3].lower() or "interrupted" in statuses[3].lower(), statuses[3]


def test_a_failed_open_clears_the_recording_that_was_on_screen(app, qtbot, tones, tmp_path):
    window, controller = app
    open_and_wait(window, controller, qtbot, tones)
    assert window.waveform.duration == pytest.approx(6.0)
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("not a recording")
    window.recording_chosen.emit(str(not_audio))
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=20_000)
    assert window.recording_label.text() == "No recording open"
    assert window.waveform.duration == 0 and controller.recording is None
    assert controller.player.duration == 0


def test_a_recording_deleted_after_opening_keeps_the_question_and_its_error(app, qtbot, tones):
    window, controller = app
    open_and_wait(window, controller, qtbot, tones)
    tones.unlink()
    window.input.text.setText("What do you hear?")
    qtbot.keyClick(window.input.text, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: idle(controller), timeout=60_000)
    (view,) = window.chat.turns
    assert view.status.text().startswith("⚠") and "tones.wav" in view.status.text()
    (summary,) = controller.store.list_conversations()
    (stored,) = controller.store.get_conversation(summary.id).turns
    assert stored.question == "What do you hear?" and stored.state == TurnState.FAILED
    assert "tones.wav" in stored.error
    assert controller.recording is None and window.recording_label.text() == "No recording open"


def test_long_work_shows_parts_done_and_time_left_with_one_stop(app):
    from PySide6.QtWidgets import QPushButton

    from engine.events import Progress, Stage

    window, controller = app
    controller.on_event(Progress(Stage.DECODE_AUDIO, 0.5, 1.0))
    assert "Reading" not in window.progress.label.text()
    controller.on_event(Progress(Stage.WINDOWS, 0.0, 4.0))
    controller.on_event(Progress(Stage.WINDOWS, 1.0, 4.0))
    label = window.progress.label.text()
    assert "1 of 4 parts done" in label and "left" in label, label
    assert not window.progress.findChildren(QPushButton), "the question bar's Stop is the one stop"


def test_the_app_starts_with_the_conversation_left_open(qtbot, tiny_model):
    from app import paths
    from app.gui import build_window

    with HistoryStore(paths.history_path()) as store:
        older = store.create_conversation("Older", "tiny")
        store.finish_turn(store.begin_turn(older, "Older question?"), "Old.", "", [], {"finish": "stop"})
        newer = store.create_conversation("Newer", "tiny")
        store.finish_turn(store.begin_turn(newer, "Newer question?"), "New.", "", [], {"finish": "stop"})
    window, controller = build_window(reopen=True)
    qtbot.addWidget(window)
    assert controller.conversation_id == newer  # first start: the latest
    controller.open_conversation(older)
    controller.shutdown()

    again, controller2 = build_window(reopen=True)
    qtbot.addWidget(again)
    assert controller2.conversation_id == older
    assert [view.answer_text for view in again.chat.turns] == ["Old."]
    controller2.shutdown()


def test_switching_engines_then_quitting_ends_the_old_engine_cleanly(app, qtbot):
    window, controller = app
    controller.engine.start()  # the engine's child process, as a first question starts it
    child = controller.engine.child.process
    controller.apply_settings({"engine": "server", "server_url": "http://127.0.0.1:9"})
    controller.shutdown()
    assert not child.is_alive() and child.exitcode == 0  # asked to stop and stopped, not killed


def test_a_spoken_turn_is_shown_with_the_label_its_session_turn_has(app):
    import numpy as np

    from engine.voice.events import Utterance

    window, controller = app
    samples = np.zeros(16000, np.float32)  # one second, whatever the event's own duration says
    heard = Utterance(9.9, samples=samples)
    turn = controller.session.on_voice_event(heard)  # as the voice loop's reader does
    controller.voice.on_event(heard)
    assert window.chat.current.question.text().endswith(turn.label)
    assert turn.label == "Spoken question (1.0 s)"
    (summary,) = controller.store.list_conversations()
    assert controller.store.get_conversation(summary.id).turns[0].question == turn.label


class BrokenEngine:
    """An engine whose answer stops without a Done or an Error (a bug, a dropped connection)."""

    def ask(self, request):
        from engine.events import TextDelta

        yield TextDelta("Half an ans")
        raise ConnectionResetError("gone")

    def cancel(self):
        pass

    def shutdown(self):
        pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_answer_that_stops_without_an_end_fails_visibly(qtbot, tiny_model):
    from app.controller import Controller
    from ui.main_window import MainWindow

    window = MainWindow("test")
    qtbot.addWidget(window)
    controller = Controller(window, engine=BrokenEngine())
    controller.settings.model = str(tiny_model)
    controller.ask("Hello?")
    qtbot.waitUntil(lambda: idle(controller), timeout=10_000)
    view = window.chat.current
    assert view.status.text().startswith("⚠") and "ask again" in view.status.text()
    assert window.input.send.isEnabled() and not window.input.stop.isEnabled()
    (summary,) = controller.store.list_conversations()
    (stored,) = controller.store.get_conversation(summary.id).turns
    assert stored.state == TurnState.FAILED and stored.answer == "Half an ans"
    controller.shutdown()


def test_quitting_while_answering_keeps_the_turn_as_stopped(app, qtbot):
    window, controller = app
    controller.settings.max_new_tokens = 20000
    controller.ask("Tell me everything.")
    qtbot.waitUntil(lambda: bool(window.chat.current.answer_text), timeout=60_000)
    controller.shutdown()
    from app import paths

    with HistoryStore(paths.history_path()) as store:
        (summary,) = store.list_conversations()
        (stored,) = store.get_conversation(summary.id).turns
    assert stored.state == TurnState.INTERRUPTED and stored.answer


def test_a_conversation_opened_while_a_recording_opens_shows_its_own(app, qtbot, tones):
    from PySide6.QtWidgets import QApplication

    from app import paths

    window, controller = app
    with HistoryStore(paths.history_path()) as store:
        plain = store.create_conversation("No recording", "tiny")
        store.finish_turn(store.begin_turn(plain, "Hello?"), "Hi.", "", [], {"finish": "stop"})
    window.recording_chosen.emit(str(tones))
    controller.open_conversation(plain)  # before the recording has finished opening
    controller.loader.wait(20)
    QApplication.processEvents()  # what the loader sent, if anything, arrives
    assert controller.recording is None and window.waveform.duration == 0
    assert window.recording_label.text() == "No recording open"


def test_deleting_the_conversation_being_answered_ends_its_turn(app, qtbot):
    window, controller = app
    controller.settings.max_new_tokens = 20000
    controller.ask("Tell me everything.")
    qtbot.waitUntil(lambda: bool(window.chat.current.answer_text), timeout=60_000)
    from app import paths
    from engine.history.session import delete_conversation

    delete_conversation(controller.store, controller.conversation_id, paths.spoken_dir())  # as Delete does
    window.stop_requested.emit()
    # The turn ends first; the bridge says it is free a moment later (a queued signal).
    qtbot.waitUntil(
        lambda: (
            not controller.turns.running
            and window.input.send.isEnabled()
            and not window.input.stop.isEnabled()
        ),
        timeout=20_000,
    )


def test_a_load_that_ends_after_a_question_is_asked_never_ends_that_question(app, qtbot):
    """A model load's own Done (queued behind the bridge's thread) belongs to the load, not the turn."""
    from engine.requests import LoadRequest

    window, controller = app
    controller.bridge.load(LoadRequest(controller.model_choice()))
    assert controller.bridge.wait(60)  # the load is over; its events wait in the queue, undelivered
    controller.ask("What is said?")
    qtbot.waitUntil(lambda: idle(controller), timeout=60_000)
    turn = window.chat.current
    assert turn.answer_text and "tokens" in turn.status.text(), turn.status.text()
    (summary,) = controller.store.list_conversations()
    (stored,) = controller.store.get_conversation(summary.id).turns
    assert stored.state == TurnState.DONE and stored.answer == turn.answer_text
