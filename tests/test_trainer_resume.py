"""A training run killed with SIGKILL resumes from its last checkpoint and ends exactly where an
uninterrupted run with the same seed ends (same adapter weights, same final loss)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from bench.beeps import write_dataset
from engine.trainer.checkpoint import has_checkpoint, load_checkpoint
from tests.test_trainer_cli import RUNNER, heron_train

STEPS = 8
CHECKPOINT_EVERY = 2
KILL_AFTER = 4  # the checkpoint step after which the run is killed


@pytest.fixture(scope="module")
def beeps(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("resume-beeps"), clips=8, seed=3, seconds=(1.0, 2.0))


def _args(beeps: Path, tiny_model: Path, out: Path) -> list[str]:
    return [
        "--data",
        str(beeps),
        "--model",
        str(tiny_model),
        "--out",
        str(out),
        "--json",
        "--max-steps",
        str(STEPS),
        "--batch-size",
        "2",
        "--grad-accum",
        "2",
        "--checkpoint-every",
        str(CHECKPOINT_EVERY),
        "--eval-every",
        "3",
        "--eval-fraction",
        "0.25",
        "--learning-rate",
        "0.01",
        "--lora-dropout",
        "0.1",
        "--train-projector",
        "--modules-to-save",
        "lm_head,norm",
        "--threads",
        "1",
    ]


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _run_until_killed(args: list[str]) -> list[dict]:
    """Run ``heron train`` and SIGKILL it as soon as it reports the checkpoint of step KILL_AFTER."""
    child = subprocess.Popen(
        [sys.executable, "-c", RUNNER, "train", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    seen = []
    try:
        for line in child.stdout:
            if line.startswith("{"):
                seen.append(json.loads(line))
                if seen[-1]["type"] == "checkpoint" and seen[-1]["step"] >= KILL_AFTER:
                    child.send_signal(signal.SIGKILL)
                    break
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "the run was killed, not finished"
    return seen


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_adapter(beeps: Path, tiny_model: Path, tmp_path: Path):
    reference = heron_train(*_args(beeps, tiny_model, tmp_path / "reference"))
    assert reference.returncode == 0, reference.stderr
    expected = _events(reference.stdout)[-1]["stats"]

    killed_out = tmp_path / "killed"
    seen = _run_until_killed(_args(beeps, tiny_model, killed_out))
    assert [e["step"] for e in seen if e["type"] == "checkpoint"][-1] == KILL_AFTER
    assert has_checkpoint(killed_out) and not (killed_out / "heron-adapter.json").exists()
    saved_step = load_checkpoint(killed_out)["state"]["step"]
    assert KILL_AFTER <= saved_step < STEPS

    resumed = heron_train(*_args(beeps, tiny_model, killed_out))
    assert resumed.returncode == 0, resumed.stderr
    events = _events(resumed.stdout)
    start = next(e for e in events if e["type"] == "train_start")
    assert start["resumed_step"] == saved_step
    steps = [e["step"] for e in events if e["type"] == "train_progress"]
    assert steps == list(range(saved_step + 1, STEPS + 1)), "no step repeated, none skipped"
    got = events[-1]["stats"]
    assert got["finish"] == "completed" and got["steps"] == STEPS
    assert got["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-5)
    assert got["best_eval_loss"] == pytest.approx(expected["best_eval_loss"], rel=1e-5)

    want = load_file(tmp_path / "reference" / "adapter_model.safetensors")
    have = load_file(killed_out / "adapter_model.safetensors")
    assert want.keys() == have.keys()
    for name in want:
        assert (want[name] - have[name]).abs().max() <= 1e-6, name
    assert not has_checkpoint(killed_out), "a finished run leaves no checkpoint behind"


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_of_other_settings(beeps: Path, tiny_model: Path, tmp_path: Path):
    out = tmp_path / "o"
    seen = _run_until_killed(_args(beeps, tiny_model, out))
    assert seen
    changed = heron_train(*_args(beeps, tiny_model, out), "--learning-rate", "0.02")
    assert changed.returncode == 2
    assert "holds a checkpoint of a run with other settings (learning_rate)" in changed.stderr
    nothing = heron_train(*_args(beeps, tiny_model, tmp_path / "empty"), "--resume")
    assert nothing.returncode == 2 and "Nothing to resume" in nothing.stderr


def test_a_kill_during_the_checkpoint_swap_leaves_one_to_resume_from(tmp_path: Path):
    from engine.trainer.checkpoint import checkpoint_dir, remove_checkpoints, save_checkpoint

    save_checkpoint(tmp_path, {"state": {"step": 2}})
    save_checkpoint(tmp_path, {"state": {"step": 4}})
    assert load_checkpoint(tmp_path)["state"]["step"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
    # Killed after moving the old checkpoint aside, before moving the new one in:
    checkpoint_dir(tmp_path).rename(tmp_path / "checkpoint.old")
    (tmp_path / ".checkpoint-tmp-123").mkdir()
    (tmp_path / ".checkpoint-tmp-123" / "trainer_state.pt").write_bytes(b"half written")
    assert load_checkpoint(tmp_path)["state"]["step"] == 4
    save_checkpoint(tmp_path, {"state": {"step": 6}})
    assert load_checkpoint(tmp_path)["state"]["step"] == 6
    remove_checkpoints(tmp_path)
    assert not has_checkpoint(tmp_path) and list(tmp_path.iterdir()) == []
