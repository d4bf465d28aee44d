"""heron doctor --self-test: every part passes on a working install; a broken part fails with its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import self_test
from app.self_test import SelfTest, run_part
from engine.runtime.doctor import FAIL, OK
from tests.cli import heron


def part(test: SelfTest, name: str):
    return next((n, run, fix) for n, run, fix in test.parts() if n == name)


@pytest.mark.slow  # a real engine process and the tiny model's first build: about 15 s on 2 cores
def test_every_part_passes_from_the_command_line(heron_home: Path):
    result = heron("doctor", "--self-test", timeout=300)
    assert result.status == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith(("✔", "!", "✘"))] == [
        "✔ Decode a bundled clip",
        "✔ Answer, with reasoning steps",
        "✔ Speak the answer to a file",
        "✔ Detect speech",
        "✔ Write and read the history",
    ]
    assert lines[-1] == "All 5 parts passed."
    assert (heron_home / "cache" / "self-test" / "answer.wav").stat().st_size > 10_000
    assert not (heron_home / "data" / "self-test-history.sqlite3").exists()  # the throwaway history is gone
    assert result.stderr_lines == []


def test_decoding_and_speech_detection_pass(tmp_path: Path):
    test = SelfTest(tmp_path / "work", tmp_path / "history.sqlite3")
    for name in ("Decode a bundled clip", "Detect speech"):
        check = run_part(*part(test, name))
        assert check.status == OK, check
    assert "one turn" in check.detail


def test_a_broken_clip_fails_with_the_reinstall_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    broken = tmp_path / "sample-meeting.ogg"
    broken.write_bytes(b"OggS" + b"\0" * 100)
    monkeypatch.setattr(self_test, "SAMPLE_RECORDING", broken)
    check = run_part(*part(SelfTest(tmp_path / "work", tmp_path / "h.sqlite3"), "Decode a bundled clip"))
    assert check.status == FAIL and check.detail
    assert "packaging/install.sh" in check.fix  # a checkout: the source install's command


def test_speech_goes_to_a_file(tmp_path: Path):
    test = SelfTest(tmp_path / "work", tmp_path / "h.sqlite3")
    test.work.mkdir()
    check = run_part(*part(test, "Speak the answer to a file"))
    assert check.status != FAIL, check
    assert (tmp_path / "work" / "answer.wav").stat().st_size > 10_000


def test_the_history_part_writes_its_own_turn_when_the_answer_failed(tmp_path: Path):
    test = SelfTest(tmp_path / "work", tmp_path / "h.sqlite3")
    check = run_part(*part(test, "Write and read the history"))
    assert check.status == OK, check


def test_an_unwritable_history_folder_fails_with_its_fix(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    test = SelfTest(tmp_path / "work", blocker / "h.sqlite3")
    check = run_part(*part(test, "Write and read the history"))
    assert check.status == FAIL
    assert str(blocker) in check.fix and "HERON_HOME" in check.fix
