"""Every way a turn can end keeps what was said: a stop by signal, an engine crash, a damaged history."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.engines.local import LocalEngine
from engine.events import Done, Error, TextDelta
from engine.history import HistoryError, HistoryStore, TurnState
from engine.history.session import ConversationSession
from engine.requests import AskRequest, ModelChoice
from tests import media

ROOT = Path(__file__).resolve().parents[1]
PAGE = 4096


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    samples = media.speech("The bell rang twice and then the dog barked.")
    return media.write_wav(tmp_path_factory.mktemp("rec") / "talk.wav", samples, 16000)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_heron_ask_stops_the_answer_and_keeps_it(signum, tiny_model, recording, tmp_path):
    command = [sys.executable, "-m", "app", "ask", str(recording), "Tell me everything.", "--model", str(tiny_model),
               "--device", "cpu", "--precision", "fp32", "--max-new-tokens", "30000", "--json"]  # fmt: skip
    env = {**os.environ, "HERON_HOME": str(tmp_path)}
    ask = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = []
    while len([line for line in lines if '"type": "text"' in line]) < 5:
        lines.append(ask.stdout.readline())
        assert lines[-1], f"heron ask ended early: {ask.stderr.read()}"
    ask.send_signal(signum)
    # Read on through the same buffered reader: communicate() reads the raw pipe and would miss
    # what readline() had already buffered past the last line it returned.
    out = ask.stdout.read()
    ask.wait(timeout=30)
    ask.stderr.close()
    events = [json.loads(line) for line in [*lines, *out.splitlines()] if line.strip()]
    assert ask.returncode == 130
    assert events[-1]["type"] == "done" and events[-1]["stats"]["finish"] == "cancelled"
    shown = "".join(e["text"] for e in events if e["type"] == "text")
    with HistoryStore(tmp_path / "data" / "history.sqlite3") as store:
        turn = store.get_turn(events[-1]["stats"]["turn_id"])
    assert turn.state == TurnState.INTERRUPTED and turn.answer == shown and shown


def test_an_engine_crash_keeps_every_word_already_received(tiny_model, recording, tmp_path):
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        session = ConversationSession(store, None, "tiny")
        session.set_recording(str(recording))
        turn = session.begin_typed("Tell me everything.")
        engine = LocalEngine()
        received = []
        try:
            choice = ModelChoice(str(tiny_model), "/nonexistent", "fp32", "cpu")
            for event in engine.ask(AskRequest(turn.request_turns, choice, 30000)):
                turn.on_event(event)
                if isinstance(event, TextDelta):
                    received.append(event.text)
                    if len(received) == 5:
                        os.kill(engine.pid, signal.SIGKILL)
        finally:
            engine.shutdown()
        assert isinstance(event, Error) and event.kind == "engine_crashed"
        stored = store.get_turn(turn.turn_id)
        assert stored.state == TurnState.FAILED and stored.answer == "".join(received)


def damaged_history(home: Path) -> Path:
    """A history of three answered questions whose fifth page is overwritten with noise."""
    path = home / "data" / "history.sqlite3"
    path.parent.mkdir(parents=True)
    with HistoryStore(path) as store:
        for n in range(3):
            session = ConversationSession(store)
            turn = session.begin_typed(f"Question {n}?")
            turn.on_event(TextDelta("An answer long enough to fill pages. " * 200))
            turn.on_event(Done({"finish": "stop"}))
    assert path.stat().st_size >= 6 * PAGE
    with path.open("r+b") as f:
        f.seek(4 * PAGE)
        f.write(os.urandom(PAGE))
    return path


def test_a_damaged_history_is_never_written_and_says_how_to_recover(tmp_path, recording, tiny_model):
    history = damaged_history(tmp_path)
    before = digest(history)
    with pytest.raises(HistoryError, match="damaged.*move it aside"):
        HistoryStore(history)
    env = {**os.environ, "HERON_HOME": str(tmp_path)}
    for _ in range(2):  # a retry changes nothing either
        done = subprocess.run([sys.executable, "-m", "app", "ask", str(recording), "What?", "--model", str(tiny_model)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert (
            done.returncode == 2 and "damaged" in done.stderr and len(done.stderr.strip().splitlines()) == 1
        )
    time.sleep(0.1)
    assert digest(history) == before


def test_a_conversation_is_created_with_its_first_turn_or_not_at_all(tmp_path):
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        with pytest.raises(HistoryError):
            store.begin_conversation("Title", None, "A question?", recording_id=999)
        assert store.list_conversations() == []
        conversation, turn = store.begin_conversation("Title", None, "A question?")
        assert store.get_turn(turn).conversation_id == conversation


def test_two_copies_of_one_recording_each_keep_their_conversation(tmp_path, recording):
    """The same bytes as a.wav and b.wav: each conversation shows and follows up on its own file."""
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    first.write_bytes(recording.read_bytes())
    second.write_bytes(recording.read_bytes())
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        ids = []
        for path in (first, second):
            session = ConversationSession(store)
            session.set_recording(str(path))
            answer = session.begin_typed("What happens?")
            answer.on_event(Done({"finish": "stop"}))
            ids.append(session.conversation_id)
        listed = {c.id: c.recording_path for c in store.list_conversations()}
        assert listed == {ids[0]: str(first), ids[1]: str(second)}
        second.unlink()
        session = ConversationSession(store)
        session.open(ids[0])
        assert session.recording == str(first) and session.turns[0].audio_path == str(first)
        assert (
            store.get_conversation(ids[0]).recordings[0].id == store.get_conversation(ids[1]).recordings[0].id
        )
