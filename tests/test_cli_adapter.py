"""``heron ask --adapter`` and adapters in ``heron models list``, as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.trainer.adapters import METADATA_FILE, PEFT_FILES
from tests import media
from tests.adapters import make_random_adapter
from tests.cli import heron

QUESTION = "What do you hear?"


@pytest.fixture(scope="module")
def adapter(tiny_model: Path, tmp_path_factory) -> Path:
    return make_random_adapter(tiny_model, tmp_path_factory.mktemp("cli-adapters") / "beeps", 1)


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    return media.write_wav(tmp_path / "tone.wav", media.tone(seconds=1.5), 16000)


def _answer(*args: str) -> str:
    result = heron("ask", *args, "--json", "--max-new-tokens", "10")
    assert result.status == 0, result.stderr
    assert result.events[-1]["type"] == "done"
    return "".join(e["text"] for e in result.events if e["type"] == "text")


@pytest.mark.slow
def test_ask_with_an_adapter_named_in_the_adapters_folder(adapter, audio, tiny_model, heron_home):
    base = _answer(str(audio), QUESTION, "--model", str(tiny_model))
    shutil.copytree(adapter, heron_home / "data" / "adapters" / "beeps")
    adapted = _answer(str(audio), QUESTION, "--model", str(tiny_model), "--adapter", "beeps")
    assert adapted != base, "the adapter's answer is not the base model's"


def test_models_list_shows_adapters_with_their_base_and_metrics(adapter, heron_home):
    assert "Adapters: none yet" in heron("models", "list").stdout
    shutil.copytree(adapter, heron_home / "data" / "adapters" / "beeps")
    result = heron("models", "list")
    assert result.status == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("beeps")]
    assert "tiny-model" in line and "eval loss 0.500" in line
    assert str(heron_home / "data" / "adapters") in result.stdout


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("missing", "No adapter folder at"),
        ("empty", "is not a finished adapter"),
        ("file", "No adapter folder"),
    ],
)
def test_unusable_adapter_folders_fail_in_one_line_before_loading(kind, reason, audio, tiny_model, tmp_path):
    folder = tmp_path / kind
    if kind == "empty":
        folder.mkdir()
    elif kind == "file":
        folder.write_text("not an adapter")
    result = heron("ask", str(audio), QUESTION, "--model", str(tiny_model), "--adapter", str(folder))
    assert result.status == 2
    (line,) = result.stderr_lines
    assert line.startswith("heron: ") and reason in line


def test_an_adapter_of_another_base_model_fails_in_one_line(adapter, audio, tiny_model, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for name in PEFT_FILES:
        shutil.copy(adapter / name, other / name)
    meta = json.loads((adapter / METADATA_FILE).read_text())
    meta["base_model"].update(name="audio-flamingo-next-hf")
    meta["base_model"]["text_config"]["num_hidden_layers"] = 28
    (other / METADATA_FILE).write_text(json.dumps(meta))
    result = heron("ask", str(audio), QUESTION, "--model", str(tiny_model), "--adapter", str(other))
    assert result.status == 2
    (line,) = result.stderr_lines
    assert "trained on another base model (audio-flamingo-next-hf" in line and "load the model it was" in line
