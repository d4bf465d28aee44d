"""The tiny AF-Next stand-in: builds offline, reloads through the Auto classes, has the real
prompt format and audio token layout, and generates. Its text is random: no meaning asserted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.model import tiny

SR = 16000


@pytest.fixture(scope="session")
def tiny_dir(tiny_model: Path) -> Path:
    """The tiny model built once per session by tests/conftest.py."""
    return tiny_model


@pytest.fixture(scope="session")
def loaded(tiny_dir: Path):
    from transformers import AutoModelForSeq2SeqLM, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_dir, local_files_only=True)
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_dir, local_files_only=True, use_safetensors=True)
    return processor, model.eval()


def audio_turn(seconds: float, text: str = "What do you hear?", seed: int = 0) -> list[dict]:
    audio = (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1).astype(np.float32)
    return [{"role": "user", "content": [{"type": "audio", "audio": audio}, {"type": "text", "text": text}]}]


def encode(processor, conversation):
    return processor.apply_chat_template(
        conversation, tokenize=True, add_generation_prompt=True, return_dict=True
    )


def test_build_writes_safetensors_and_consistent_config(tiny_dir: Path):
    names = {p.name for p in tiny_dir.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"} <= names
    assert not any(n.endswith((".bin", ".pt")) for n in names)
    config = json.loads((tiny_dir / "config.json").read_text())
    assert config["model_type"] == "musicflamingo"
    assert config["audio_config"]["max_source_positions"] == 1500
    assert config["audio_config"]["num_mel_bins"] == 128
    assert config["text_config"]["model_type"] == "qwen2"

    tok = tiny.build_tokenizer()
    assert 380 <= len(tok) <= 420
    assert config["text_config"]["vocab_size"] == len(tok)
    assert config["audio_token_id"] == tok.convert_tokens_to_ids("<sound>")
    assert config["audio_bos_token_id"] == tok.convert_tokens_to_ids("<|sound_bos|>")
    assert config["audio_eos_token_id"] == tok.convert_tokens_to_ids("<|sound_eos|>")
    generation = json.loads((tiny_dir / "generation_config.json").read_text())
    assert generation["eos_token_id"] == tok.convert_tokens_to_ids("<|im_end|>")
    assert generation["pad_token_id"] == tok.convert_tokens_to_ids("<|endoftext|>")


def test_reloads_with_auto_classes(loaded):
    processor, model = loaded
    assert type(processor).__name__ == "MusicFlamingoProcessor"
    assert type(model).__name__ == "MusicFlamingoForConditionalGeneration"
    assert processor.max_audio_len == 1800
    assert processor.feature_extractor.feature_size == 128


def test_chat_template_is_the_real_one(loaded):
    processor, _ = loaded
    assert tiny.SYSTEM_PROMPT in processor.chat_template
    text = processor.apply_chat_template(
        [{"role": "user", "content": "Hello"}], tokenize=False, add_generation_prompt=True
    )
    assert text == (
        f"<|im_start|>system\n{tiny.SYSTEM_PROMPT}<|im_end|>\n"
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
    )
    # A system turn of the user's own replaces the default prompt.
    own = processor.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], tokenize=False
    )
    assert tiny.SYSTEM_PROMPT not in own and own.startswith("<|im_start|>system\nBe brief.<|im_end|>")


@pytest.mark.parametrize(("seconds", "n_tokens"), [(30, 750), (10, 250), (45, 1125)])
def test_audio_expands_to_sound_tokens(loaded, seconds: float, n_tokens: int):
    processor, model = loaded
    ids = encode(processor, audio_turn(seconds))["input_ids"][0].tolist()
    sound, bos, eos = (
        model.config.audio_token_id,
        model.config.audio_bos_token_id,
        model.config.audio_eos_token_id,
    )
    assert ids.count(sound) == n_tokens
    start = ids.index(bos)
    assert ids[start + 1 : start + 1 + n_tokens] == [sound] * n_tokens
    assert ids[start + 1 + n_tokens] == eos
    assert ids.count(bos) == ids.count(eos) == 1


def test_generate_produces_text(loaded):
    processor, model = loaded
    for conversation in (audio_turn(5, "Describe the sound."), audio_turn(12, "Transcribe it.", seed=1)):
        inputs = encode(processor, conversation)
        inputs["input_features"] = inputs["input_features"].to(model.dtype)
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=32, do_sample=False)
        new = out[0, inputs["input_ids"].shape[1] :]
        assert len(new) >= 10  # the random weights must not stop at once
        assert processor.decode(new, skip_special_tokens=True).strip()


def test_think_tokens_decode_as_text_and_specials_are_skipped():
    tok = tiny.build_tokenizer()
    ids = tok("<|im_start|><think>step [00:12.5]</think> answer<|im_end|>")["input_ids"]
    assert tok.convert_tokens_to_ids("<think>") in ids
    text = tok.decode(ids, skip_special_tokens=True)
    assert text == "<think>step [00:12.5]</think> answer"


def test_deterministic_for_a_seed_and_cli(tiny_dir: Path, tmp_path: Path):
    assert tiny.main([str(tmp_path / "again")]) == 0
    again = tmp_path / "again"
    assert (again / "model.safetensors").read_bytes() == (tiny_dir / "model.safetensors").read_bytes()
    assert (again / "tokenizer.json").read_bytes() == (tiny_dir / "tokenizer.json").read_bytes()
    other = tiny.build_tiny_model(tmp_path / "seed1", seed=1)
    assert (other / "model.safetensors").read_bytes() != (tiny_dir / "model.safetensors").read_bytes()


def test_ensure_builds_once(tmp_path: Path):
    folder = tiny.ensure_tiny_model(tmp_path / "cached")
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert tiny.ensure_tiny_model(folder) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
