"""Every ``heron ask`` lands in the history; follow-ups continue it; a killed ask keeps its question."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import paths
from engine.history import HistoryStore
from engine.history.session import spoken_file
from tests import media
from tests.cli import heron


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return media.write_wav(tmp_path / "talk.wav", media.speech("The bell rang twice."), 16000)


def ask(*args: str, model: Path) -> dict:
    result = heron("ask", *args, "--model", str(model), "--json", "--max-new-tokens", "8")
    assert result.status == 0, result.stderr
    return result.events[-1]["stats"]


def test_ask_then_continue_then_export_and_delete(tiny_model: Path, recording: Path, tmp_path: Path):
    first = ask(str(recording), "What happens?", model=tiny_model)
    conversation = str(first["conversation_id"])
    second = ask("--continue", conversation, "How many times?", model=tiny_model)
    assert second["conversation_id"] == first["conversation_id"]
    assert second["prompt_tokens"] > first["prompt_tokens"], "the follow-up saw the first turn and its audio"

    listing = heron("history", "list")
    assert listing.status == 0 and "What happens?" in listing.stdout and "2 turn(s)" in listing.stdout
    shown = heron("history", "show", conversation)
    assert "How many times?" in shown.stdout and "talk.wav" in shown.stdout

    exported = heron("history", "export", conversation, "--format", "json")
    record = json.loads(exported.stdout)
    assert [t["question"] for t in record["turns"]] == ["What happens?", "How many times?"]
    out = tmp_path / "talk.md"
    assert heron("history", "export", conversation, "--format", "md", "-o", str(out)).status == 0
    assert out.read_text().startswith("# What happens?")

    with HistoryStore(paths.history_path()) as store:
        turn_ids = [turn.id for turn in store.get_conversation(int(conversation)).turns]
    spoken = spoken_file(paths.spoken_dir(), turn_ids[-1])  # as if the follow-up had been asked aloud
    spoken.parent.mkdir(parents=True, exist_ok=True)
    media.write_wav(spoken, media.speech("How many times?"), 16000)
    other_spoken = spoken_file(paths.spoken_dir(), turn_ids[-1] + 1000)  # another conversation's: kept
    media.write_wav(other_spoken, media.speech("Another question."), 16000)

    assert heron("history", "delete", conversation).status == 0
    missing = heron("history", "show", conversation)
    assert missing.status == 2 and "no conversation" in missing.stderr.lower()
    assert recording.exists(), "deleting a conversation never deletes the recording"
    assert not spoken.exists(), "the spoken question's audio goes with its conversation"
    assert other_spoken.exists()


def test_continue_with_a_moved_recording_says_so(tiny_model: Path, recording: Path):
    first = ask(str(recording), "What happens?", model=tiny_model)
    recording.rename(recording.with_name("moved.wav"))
    result = heron("ask", "--continue", str(first["conversation_id"]), "And?", "--model", str(tiny_model))
    assert result.status == 2 and "no longer at" in result.stderr


def test_a_killed_ask_keeps_its_question(tiny_model: Path, recording: Path, heron_home: Path):
    command = [sys.executable, "-m", "app", "ask", str(recording), "Tell me everything.",
               "--model", str(tiny_model), "--json", "--max-new-tokens", "20000"]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={**os.environ}, start_new_session=True)  # fmt: skip
    texts = 0
    for line in child.stdout:
        texts += json.loads(line)["type"] == "text"
        if texts >= 20:
            break
    time.sleep(0.8)  # long enough for a partial answer to be checkpointed
    os.killpg(child.pid, signal.SIGKILL)  # the CLI and its engine, as a crash or a power cut would
    child.wait()
    with HistoryStore(heron_home / "data" / "history.sqlite3") as store:
        (summary,) = store.list_conversations()
        (turn,) = store.get_conversation(summary.id).turns
    assert turn.question == "Tell me everything."
    assert turn.state.value == "interrupted"
    assert turn.answer, "the partial answer saved before the kill is kept"


def test_subtitles_are_written_only_when_there_are_timed_steps(tmp_path: Path):
    from engine.events import Step

    with HistoryStore(paths.history_path()) as store:
        untimed, turn = store.begin_conversation("No times", None, "What is it?")
        store.finish_turn(turn, "A bell.", "", [], {})
        timed, turn = store.begin_conversation("Times", None, "When?")
        store.finish_turn(turn, "At [00:02].", "", [Step(1, 2.0, 3.0, "A bell at 2 s")], {})
    empty = tmp_path / "empty.srt"
    refused = heron("history", "export", str(untimed), "--format", "srt", "-o", str(empty))
    assert refused.status == 2 and "no reasoning steps with times" in refused.stderr
    assert not empty.exists(), "no empty subtitles file"
    written = tmp_path / "times.srt"
    assert heron("history", "export", str(timed), "--format", "srt", "-o", str(written)).status == 0
    assert "00:00:02,000 --> 00:00:03,000" in written.read_text()
