"""``heron train`` as a user runs it: ``--check``, a short run end to end, TOML plus flags,
and one-line errors.

The ``train`` subcommand is registered in app/cli.py's ``build_parser``; until that line is
there, the runner below registers it the same way, so these tests run either way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.beeps import write_dataset

RUNNER = """
import sys
from app import cli
from app.commands import train
build = cli.build_parser
def build_parser():
    parser = build()
    commands = parser._subparsers._group_actions[0]
    if "train" not in commands.choices:
        train.register(commands)
    return parser
cli.build_parser = build_parser
sys.exit(cli.main(sys.argv[1:]))
"""


def heron_train(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, "train", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def _errors(stderr: str) -> list[str]:
    noise = ("Failed to load CPU gemm_4bit_forward",)
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(noise)]


@pytest.fixture(scope="module")
def beeps(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("cli-beeps"), clips=8, seed=2, seconds=(1.0, 2.0))


def test_check_prints_a_summary(beeps: Path, tiny_model: Path):
    result = heron_train("--check", str(beeps), "--model", str(tiny_model))
    assert result.returncode == 0, result.stderr
    assert f"{beeps}: valid" in result.stdout
    assert "examples: 8" in result.stdout and "tokens" in result.stdout and "sha256" in result.stdout


def test_check_lists_every_problem_and_exits_2(beeps: Path, tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    lines = beeps.read_text().splitlines()
    bad.write_text(
        "\n".join([lines[0], '{"audio": "nope.wav", "question": "q", "answer": "a"}', "{oops", lines[0]])
    )
    (tmp_path / "clips").symlink_to(beeps.parent / "clips")
    result = heron_train("--check", str(bad))
    assert result.returncode == 2
    errors = _errors(result.stderr)
    assert errors[0] == f"heron: {bad} has 3 problem(s):"
    assert [e.split(":")[0].strip() for e in errors[1:]] == ["line 2", "line 3", "line 4"]


def test_short_run_end_to_end(beeps: Path, tiny_model: Path, tmp_path: Path):
    out = tmp_path / "adapter"
    toml = tmp_path / "run.toml"
    toml.write_text(
        f'data = "{beeps}"\nout = "adapter"\nmodel = "{tiny_model}"\nmax_steps = 50\nbatch_size = 2\n'
        'train_projector = true\nmodules_to_save = ["lm_head", "norm"]\neval_fraction = 0.25\n'
    )
    result = heron_train(str(toml), "--max-steps", "3", "--eval-every", "2", "--learning-rate", "0.01")
    assert result.returncode == 0, result.stderr
    assert "Adapter saved to" in result.stdout and "3 steps" in result.stdout
    assert "step 3/3" in result.stderr and "eval loss" in result.stderr
    meta = json.loads((out / "heron-adapter.json").read_text())
    assert meta["settings"]["max_steps"] == 3 and meta["settings"]["batch_size"] == 2
    assert meta["base_model"]["path"] == str(tiny_model) and meta["dataset"]["train_examples"] == 6
    assert (out / "adapter_model.safetensors").is_file() and not (out / "checkpoint").exists()


@pytest.mark.slow
def test_an_adapter_in_the_way_then_overwrite_with_json_events(beeps: Path, tiny_model: Path, tmp_path: Path):
    out = tmp_path / "adapter"
    out.mkdir()
    (out / "heron-adapter.json").write_text("{}")
    args = ["--data", str(beeps), "--out", str(out), "--model", str(tiny_model), "--max-steps", "2"]
    again = heron_train(*args)
    assert again.returncode == 2
    assert _errors(again.stderr) == [
        f"heron: {out} already holds a trained adapter: pass another --out, or --overwrite to replace it."
    ]
    json_run = heron_train(*args, "--overwrite", "--json", "--batch-size", "2")
    assert json_run.returncode == 0, json_run.stderr
    events = [json.loads(line) for line in json_run.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[-1] == "done" and types.count("train_progress") == 2 and "train_start" in types
    assert {"validate", "load_model", "audio_features"} <= {
        e["stage"] for e in events if e["type"] == "progress"
    }
    assert json.loads((out / "heron-adapter.json").read_text())["metrics"]["steps"] == 2


def test_settings_errors_are_one_line(beeps: Path, tiny_model: Path, tmp_path: Path):
    result = heron_train("--data", str(beeps), "--model", str(tiny_model))
    assert result.returncode == 2
    assert _errors(result.stderr) == [
        "heron: Invalid training settings: out is missing (the adapter folder: --out or out = … in the TOML file)."
    ]
    result = heron_train(
        "--data", str(beeps), "--out", str(tmp_path / "o"), "--model", str(tmp_path / "none")
    )
    assert result.returncode == 2 and _errors(result.stderr)[0].startswith("heron: No model folder")
    result = heron_train("--data", str(beeps), "--out", str(tmp_path / "o"), "--lora-r", "many")
    assert result.returncode == 2 and "must be a whole number" in result.stderr
    result = heron_train(str(beeps))
    assert result.returncode == 2 and "is a dataset, not a settings file" in result.stderr


def test_a_bare_out_name_goes_in_the_adapters_folder(heron_home: Path, tmp_path: Path, monkeypatch):
    from app.commands.train import out_folder

    assert out_folder("beeps") == heron_home / "data" / "adapters" / "beeps"
    monkeypatch.chdir(tmp_path)
    assert out_folder("./beeps") == tmp_path / "beeps"
    assert out_folder("runs/beeps") == tmp_path / "runs" / "beeps"
    assert out_folder(str(tmp_path / "x")) == tmp_path / "x"
