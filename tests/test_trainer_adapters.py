"""Adapters on a loaded model: saved with metadata, loaded, switched and unloaded without
reloading the base, the base's outputs restored exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.events import Done, TextDelta
from engine.inference.conversation import Conversation
from engine.inference.generation import GenerationOptions, stream_answer
from engine.inference.prompt import full_prompt
from engine.model.loading import load_model
from engine.trainer import AdapterError, AdapterManager, read_adapter
from engine.trainer.adapters import METADATA_FILE
from tests.adapters import make_random_adapter

QUESTION = "How many beeps are there?"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def adapters(tiny_model: Path, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("adapters")
    return make_random_adapter(tiny_model, root / "first", 1), make_random_adapter(
        tiny_model, root / "second", 2
    )


@pytest.fixture
def loaded(tiny_model: Path):
    return load_model(tiny_model, precision="fp32", device="cpu")


def _inputs(loaded):
    audio = (np.random.default_rng(0).standard_normal(32000) * 0.1).astype(np.float32)
    messages = [
        {"role": "user", "content": [{"type": "audio", "audio": audio}, {"type": "text", "text": QUESTION}]}
    ]
    return loaded.processor.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=True, return_dict=True
    )


def _logits(loaded, inputs) -> torch.Tensor:
    with torch.no_grad():
        return loaded.model(**inputs).logits


def test_saved_adapter_has_peft_files_and_metadata(adapters):
    first, _ = adapters
    assert (first / "adapter_config.json").is_file() and (first / "adapter_model.safetensors").is_file()
    meta = read_adapter(first)
    assert meta == json.loads((first / METADATA_FILE).read_text())
    assert meta["format"] == 1 and meta["heron_version"]
    assert meta["base_model"]["model_type"] == "musicflamingo"
    assert meta["base_model"]["text_config"]["hidden_size"] == 64
    assert {"dataset", "settings", "metrics", "created"} <= set(meta)


def test_load_switch_and_unload_without_reloading(loaded, adapters):
    first, second = adapters
    model = loaded.model
    inputs = _inputs(loaded)
    base = _logits(loaded, inputs)
    manager = AdapterManager(loaded)

    name_a = manager.load(first)
    assert loaded.model is model and manager.active == name_a == "first"
    with_a = _logits(loaded, inputs)
    assert not torch.allclose(with_a, base, atol=1e-3)

    name_b = manager.load(second)
    assert manager.active == name_b and manager.names == ["first", "second"]
    with_b = _logits(loaded, inputs)
    assert not torch.allclose(with_b, with_a, atol=1e-3)

    manager.use(name_a)
    assert torch.allclose(_logits(loaded, inputs), with_a, atol=1e-6)
    manager.use(None)
    assert manager.active is None
    assert torch.equal(_logits(loaded, inputs), base)
    manager.use(name_b)
    assert torch.allclose(_logits(loaded, inputs), with_b, atol=1e-6)

    manager.unload(name_b)
    assert manager.active is None and manager.names == ["first"]
    assert torch.equal(_logits(loaded, inputs), base)
    manager.use(name_a)
    assert torch.allclose(_logits(loaded, inputs), with_a, atol=1e-6)
    manager.unload(name_a)
    assert manager.names == [] and manager.peft is None
    assert torch.equal(_logits(loaded, inputs), base)
    assert not any("lora_" in n or "modules_to_save" in n for n, _ in loaded.model.named_modules())


def test_generation_uses_the_active_adapter(loaded, adapters):
    audio = (np.random.default_rng(1).standard_normal(32000) * 0.1).astype(np.float32)

    def answer() -> str:
        conversation = Conversation()
        conversation.ask(QUESTION, audio)
        prompt = full_prompt(loaded, conversation)
        events = list(stream_answer(loaded, prompt, GenerationOptions(max_new_tokens=12)))
        assert isinstance(events[-1], Done)
        return "".join(e.text for e in events if isinstance(e, TextDelta))

    base = answer()
    manager = AdapterManager(loaded)
    manager.load(adapters[0])
    adapted = answer()
    manager.use(None)
    assert answer() == base
    assert adapted != base


def test_same_folder_twice_gets_a_new_name(loaded, adapters):
    manager = AdapterManager(loaded)
    assert manager.load(adapters[0]) == "first"
    assert manager.load(adapters[0]) == "first-2"
    manager.unload_all()
    assert manager.names == []


def test_unusable_adapters_fail_in_one_line(loaded, adapters, tmp_path: Path):
    manager = AdapterManager(loaded)
    with pytest.raises(AdapterError, match="No adapter folder"):
        manager.load(tmp_path / "nothing")
    (tmp_path / "half").mkdir()
    with pytest.raises(AdapterError, match="not a finished adapter"):
        manager.load(tmp_path / "half")
    other = tmp_path / "other"
    other.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        (other / name).write_bytes((adapters[0] / name).read_bytes())
    meta = read_adapter(adapters[0])
    meta["base_model"]["text_config"]["hidden_size"] = 3584
    (other / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(AdapterError, match="trained on another base model"):
        manager.load(other)
    with pytest.raises(AdapterError, match="No adapter named"):
        manager.use("missing")
    assert manager.names == [] and manager.peft is None
