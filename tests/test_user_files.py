"""Files a person names are read only when they are regular files, and never past a limit: a FIFO
is refused without waiting for a writer, a device without reading it, a huge file unread."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from engine.files import NOT_REGULAR, FileRefusedError, file_problem, read_limited
from engine.trainer import AdapterError, read_adapter
from engine.trainer.checkpoint import checkpoint_summary


def within(seconds: float, work):
    """``work()``'s outcome, failing the test (not hanging it) when it takes longer."""
    outcome: list = []

    def run():
        try:
            outcome.append(work())
        except Exception as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s"
    return outcome[0]


def test_pipes_devices_folders_and_missing_files_are_refused_at_once(tmp_path: Path):
    os.mkfifo(tmp_path / "fifo")
    for path, reason in (
        (tmp_path / "fifo", NOT_REGULAR),
        (Path("/dev/zero"), NOT_REGULAR),
        (tmp_path, "is a folder, not a file"),
        (tmp_path / "absent", "does not exist"),
    ):
        assert file_problem(path) == reason
        refused = within(5, lambda path=path: read_limited(path, 100))
        assert isinstance(refused, FileRefusedError) and refused.reason == reason


def test_reads_stop_at_the_limit(tmp_path: Path):
    (tmp_path / "big").write_bytes(b"x" * 2049)
    with pytest.raises(FileRefusedError, match=r"big is larger than 2 KB\.$"):
        read_limited(tmp_path / "big", 2048)
    assert read_limited(tmp_path / "big", 4096) == b"x" * 2049


def test_a_checkpoint_summary_that_is_a_pipe_is_not_waited_on(tmp_path: Path):
    folder = tmp_path / "out" / "checkpoint"
    folder.mkdir(parents=True)
    (folder / "trainer_state.pt").write_bytes(b"")
    os.mkfifo(folder / "config.json")
    assert within(5, lambda: checkpoint_summary(tmp_path / "out")) is None


def test_huge_adapter_metadata_is_refused_unread(tmp_path: Path):
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        (tmp_path / name).write_bytes(b"{}")
    (tmp_path / "heron-adapter.json").write_text(json.dumps({"notes": "x" * 2**21}))
    with pytest.raises(
        AdapterError, match=r"heron-adapter.json is larger than 1 MB: train the adapter again"
    ):
        read_adapter(tmp_path)
