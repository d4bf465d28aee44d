"""The conversation session: the one owner of a conversation's turns, typed and spoken."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile

from engine.events import Done, Error, Step, TextDelta, ThinkDelta
from engine.history import HistoryStore, TurnState
from engine.history.session import (
    RECORDING_ACK,
    RECORDING_INTRO,
    SPOKEN_QUESTION,
    ConversationSession,
    spoken_file,
)
from engine.requests import TurnSpec
from engine.voice.events import Utterance
from tests import media

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def recording(tmp_path) -> str:
    return str(media.write_wav(tmp_path / "talk.wav", media.speech("The bell rang twice."), 16000))


@pytest.fixture()
def store(tmp_path):
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        yield store


def session_in(store, tmp_path) -> ConversationSession:
    return ConversationSession(store, tmp_path / "spoken", model="tiny")


def answer(turn, text: str, **stats) -> None:
    for piece in text.split(" "):
        turn.on_event(TextDelta(piece + " "))
    turn.on_event(Done({"finish": "stop", **stats}))


def test_a_typed_turn_carries_the_recording_and_is_committed_before_it_is_answered(
    store, tmp_path, recording
):
    session = session_in(store, tmp_path)
    session.set_recording(recording, 2.0)
    turn = session.begin_typed("What happens?")
    assert turn.request_turns == (TurnSpec("What happens?", recording),)
    stored = store.get_turn(turn.turn_id)
    assert stored.state == TurnState.ASKED and stored.question == "What happens?"
    assert store.get_conversation(session.conversation_id).recordings[0].path == recording

    turn.on_event(ThinkDelta("a bell [00:01]"))
    turn.on_event(Step(0, 1.0, 1.0, "a bell"))
    answer(turn, "A bell rings.")
    stored = store.get_turn(turn.turn_id)
    assert stored.state == TurnState.DONE and stored.answer.strip() == "A bell rings."
    assert stored.reasoning == "a bell [00:01]" and len(stored.steps) == 1

    follow_up = session.begin_typed("How many times?")
    first, asked = follow_up.request_turns
    assert first.audio_path == recording and first.answer.strip() == "A bell rings."
    assert asked == TurnSpec("How many times?")  # the recording is heard once, with the first turn
    assert store.get_turn(follow_up.turn_id).conversation_id == session.conversation_id


def test_a_spoken_turn_keeps_its_audio_and_introduces_the_recording(store, tmp_path, recording):
    session = session_in(store, tmp_path)
    session.set_recording(recording, 2.0)
    samples = media.speech("What is that sound?")
    turn = session.begin_spoken(samples)
    intro, asked = turn.request_turns
    assert intro == TurnSpec(RECORDING_INTRO, recording, RECORDING_ACK)
    assert asked.question == SPOKEN_QUESTION and asked.audio is samples
    assert turn.label == f"Spoken question ({len(samples) / 16000:.1f} s)"
    assert store.get_turn(turn.turn_id).question == turn.label
    kept = spoken_file(tmp_path / "spoken", turn.turn_id)
    assert kept.is_file()

    answer(turn, "A whistle.")
    intro_again, spoken = session.turns
    assert intro_again == intro and spoken.audio is samples and spoken.answer.strip() == "A whistle."
    typed = session.begin_typed("Is it loud?")
    assert typed.request_turns[:2] == (intro, spoken) and typed.request_turns[2] == TurnSpec("Is it loud?")


def test_the_voice_loops_events_make_spoken_turns_in_order(store, tmp_path):
    session = session_in(store, tmp_path)
    first, second = media.speech("First question."), media.speech("Second one.")
    begun = session.on_voice_event(Utterance(len(first) / 16000, samples=first))
    also = session.on_voice_event(Utterance(len(second) / 16000, samples=second))
    for event in (
        TextDelta("One."),
        Done({"finish": "stop"}),
        TextDelta("Two."),
        Done({"finish": "interrupted"}),
    ):
        session.on_voice_event(event)
    assert (
        store.get_turn(begun.turn_id).answer == "One."
        and store.get_turn(begun.turn_id).state == TurnState.DONE
    )
    assert store.get_turn(also.turn_id).state == TurnState.INTERRUPTED  # a barge-in keeps the partial answer
    assert [t.answer for t in session.turns] == ["One.", "Two."]

    cut = media.speech("Cut")
    failed = session.on_voice_event(Utterance(len(cut) / 16000, cut_short=True, samples=cut))
    stored = store.get_turn(failed.turn_id)
    assert stored.state == TurnState.FAILED and "microphone stopped" in stored.error
    assert len(session.turns) == 2, "a question cut short is not heard again"


def test_an_answer_that_ends_after_the_user_moved_on_stays_in_its_own_conversation(store, tmp_path):
    session = session_in(store, tmp_path)
    samples = media.speech("A question.")
    spoken = session.on_voice_event(Utterance(1.0, samples=samples))
    old_conversation = session.conversation_id
    session.new()
    session.on_voice_event(TextDelta("Late answer."))
    session.on_voice_event(Done({"finish": "cancelled"}))
    assert store.get_turn(spoken.turn_id).answer == "Late answer."
    assert store.get_turn(spoken.turn_id).conversation_id == old_conversation
    assert session.turns == [] and session.conversation_id is None


def test_a_follow_up_after_a_restart_hears_typed_and_spoken_turns_again(tmp_path, recording):
    samples = media.speech("And then?")
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        session = session_in(store, tmp_path)
        session.set_recording(recording, 2.0)
        answer(session.begin_typed("What happens?"), "A bell.")
        answer(session.begin_spoken(samples), "A dog.")
        failed = session.begin_typed("Will this fail?")
        failed.on_event(Error("model", "No model."))
        conversation = session.conversation_id

    with HistoryStore(tmp_path / "history.sqlite3") as store:  # a new process, as after a restart
        session = session_in(store, tmp_path)
        record = session.open(conversation)
        assert [t.question for t in record.turns][-1] == "Will this fail?"
        typed, spoken = session.turns  # the failed turn is shown, not heard again
        assert typed == TurnSpec("What happens?", recording, "A bell. ")
        assert spoken.question == SPOKEN_QUESTION and spoken.answer == "A dog. "
        kept, _ = soundfile.read(spoken.audio_path, dtype="float32")
        assert np.abs(kept - samples).max() < 1e-3, "the spoken question is heard as it was said"
        follow_up = session.begin_typed("Why?")
        assert follow_up.request_turns == (typed, spoken, TurnSpec("Why?"))
        assert store.get_turn(follow_up.turn_id).conversation_id == conversation


def test_a_turn_interrupted_by_a_kill_is_kept_and_heard_again(tmp_path, recording):
    """A process killed mid-answer: the question and the partial answer survive, marked interrupted."""
    script = textwrap.dedent(f"""
        import sys, time
        from engine.events import TextDelta
        from engine.history import HistoryStore
        from engine.history.session import ConversationSession
        store = HistoryStore({str(tmp_path / "history.sqlite3")!r})
        session = ConversationSession(store, None, "tiny")
        session.set_recording({recording!r}, 2.0)
        turn = session.begin_typed("What happens?")
        turn.on_event(TextDelta("A bell "))
        time.sleep(0.6)
        turn.on_event(TextDelta("rings"))  # past the checkpoint interval: saved
        print(session.conversation_id, turn.turn_id, flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        conversation, turn_id = map(int, child.stdout.readline().split())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        assert turn_id in store.recovered_turns
        stored = store.get_turn(turn_id)
        assert stored.state == TurnState.INTERRUPTED and stored.answer == "A bell rings"
        session = session_in(store, tmp_path)
        session.open(conversation)
        assert session.turns == [TurnSpec("What happens?", recording, "A bell rings")]


def test_a_session_without_a_history_still_carries_the_conversation(recording):
    session = ConversationSession(None)
    session.set_recording(recording)
    turn = session.begin_spoken(media.speech("What is it?"))
    assert turn.turn_id is None and turn.notice is None
    answer(turn, "A bell.")
    assert [t.answer for t in session.turns] == [RECORDING_ACK, "A bell. "]


def test_questions_about_a_recording_deleted_after_opening_are_kept_with_the_reason(
    store, tmp_path, recording
):
    typed_session, spoken_session = session_in(store, tmp_path), session_in(store, tmp_path)
    for session in (typed_session, spoken_session):
        session.set_recording(recording, 2.0)
    Path(recording).unlink()
    typed = typed_session.begin_typed("What rang?")
    assert typed.ended and typed.state == TurnState.FAILED and "talk.wav" in typed.error
    assert typed_session.recording is None  # the next question is about no recording, as the window shows
    (stored,) = store.get_conversation(typed_session.conversation_id).turns
    assert (stored.question, stored.state) == ("What rang?", TurnState.FAILED)
    assert "no longer at" in stored.error
    spoken = spoken_session.begin_spoken(np.zeros(16000, np.float32))  # the engine will say what failed
    assert spoken.notice is None and spoken.turn_id is not None
    (stored,) = store.get_conversation(spoken_session.conversation_id).turns
    assert stored.question == "Spoken question (1.0 s)"
