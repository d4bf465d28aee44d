"""Adapters in the engine: the base model stays loaded while adapters are loaded, switched and
dropped; prefilled follow-up contexts never cross from one adapter to another; bad adapters fail
in one line and leave the engine answering."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.events import Done, Error, TextDelta
from engine.requests import AskRequest, ModelChoice, TurnSpec
from engine.runtime.host import ModelHost
from engine.runtime.process import handle
from engine.runtime.protocol import Ask
from engine.trainer.adapters import METADATA_FILE, PEFT_FILES
from tests import media
from tests.adapters import make_random_adapter

QUESTION = "What do you hear?"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def adapters(tiny_model: Path, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("engine-adapters")
    return make_random_adapter(tiny_model, root / "alpha", 1), make_random_adapter(
        tiny_model, root / "beta", 2
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return media.write_wav(tmp_path_factory.mktemp("rec") / "tone.wav", media.tone(seconds=2.0), 16000)


def _events(engine: ModelHost, turns, model: Path, adapter: Path | None, tokens: int = 12) -> list:
    choice = ModelChoice(str(model), "/nonexistent", "fp32", "cpu", str(adapter) if adapter else None)
    return list(handle(engine, Ask(1, AskRequest(tuple(turns), choice, tokens)), lambda: False))


def ask(engine: ModelHost, turns, model: Path, adapter: Path | None = None) -> tuple[str, dict]:
    events = _events(engine, turns, model, adapter)
    assert isinstance(events[-1], Done), events
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events[-1].stats


def test_base_then_adapters_then_base_loads_the_base_once(tiny_model, adapters, recording):
    alpha, beta = adapters
    engine = ModelHost()
    turn = [TurnSpec(QUESTION, str(recording))]
    base, _ = ask(engine, turn, tiny_model)
    loaded, model = engine.loaded, engine.loaded.model
    with_alpha, _ = ask(engine, turn, tiny_model, alpha)
    with_beta, _ = ask(engine, turn, tiny_model, beta)
    again_alpha, _ = ask(engine, turn, tiny_model, alpha)
    base_again, _ = ask(engine, turn, tiny_model)
    assert engine.loaded is loaded and engine.loaded.model is model, "the base model was never reloaded"
    assert with_alpha != base and with_beta != with_alpha
    assert again_alpha == with_alpha, "switching back to a loaded adapter gives its answers again"
    assert base_again == base, "with no adapter the base model answers exactly as before any adapter"
    assert engine.adapters.names == ["alpha", "beta"] and engine.adapters.active is None


def test_follow_ups_never_reuse_a_context_of_another_adapter(tiny_model, adapters, recording):
    alpha, _ = adapters
    engine = ModelHost()
    first, _ = ask(engine, [TurnSpec(QUESTION, str(recording))], tiny_model, alpha)
    turns = [TurnSpec(QUESTION, str(recording), first), TurnSpec("And then?")]

    under_base, stats = ask(engine, turns, tiny_model)
    assert stats["reused_tokens"] == 0, "a context prefilled with alpha active is not the base model's"
    assert under_base == ask(ModelHost(), turns, tiny_model)[0]

    under_alpha, stats = ask(engine, turns, tiny_model, alpha)
    assert stats["reused_tokens"] > 0, "the same adapter continues its own context"
    assert under_alpha == ask(ModelHost(), turns, tiny_model, alpha)[0]


def test_an_adapter_trained_again_into_its_folder_is_loaded_afresh(tiny_model, adapters, recording, tmp_path):
    alpha, beta = adapters
    folder = tmp_path / "retrained"
    folder.mkdir()
    for name in (*PEFT_FILES, METADATA_FILE):
        (folder / name).write_bytes((alpha / name).read_bytes())
    engine = ModelHost()
    turn = [TurnSpec(QUESTION, str(recording))]
    first, _ = ask(engine, turn, tiny_model, folder)
    for name in PEFT_FILES:  # "trained again": other weights in the same folder
        (folder / name).write_bytes((beta / name).read_bytes())
    stat = (folder / PEFT_FILES[1]).stat()
    os.utime(folder / PEFT_FILES[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second, _ = ask(engine, turn, tiny_model, folder)
    assert second != first and second == ask(ModelHost(), turn, tiny_model, beta)[0]
    assert engine.adapters.names == ["retrained"], "the old weights were unloaded"


def test_bad_adapters_fail_in_one_line_and_the_engine_keeps_answering(
    tiny_model, adapters, recording, tmp_path
):
    engine = ModelHost()
    turn = [TurnSpec(QUESTION, str(recording))]
    base, _ = ask(engine, turn, tiny_model)
    loaded = engine.loaded

    mismatched = tmp_path / "other-base"
    mismatched.mkdir()
    for name in PEFT_FILES:
        (mismatched / name).write_bytes((adapters[0] / name).read_bytes())
    meta = json.loads((adapters[0] / METADATA_FILE).read_text())
    meta["base_model"]["text_config"]["hidden_size"] = 3584
    (mismatched / METADATA_FILE).write_text(json.dumps(meta))
    not_adapter = tmp_path / "just-a-folder"
    not_adapter.mkdir()

    cases = [
        (tmp_path / "missing", "No adapter folder"),
        (not_adapter, "not a finished adapter"),
        (mismatched, "trained on another base model"),
    ]
    for folder, reason in cases:
        events = _events(engine, turn, tiny_model, folder)
        (error,) = events
        assert isinstance(error, Error) and error.kind == "adapter" and reason in error.message
        assert "\n" not in error.message
    assert engine.loaded is loaded, "a refused adapter leaves the base model loaded"
    assert ask(engine, turn, tiny_model)[0] == base
