"""The checkpoints as published: both model types, the processor's own audio limit, the RoTE
parameters of the config as they are. Tiny checkpoints written in each variant."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from engine.model import architecture, tiny
from engine.model.loading import load_model

VARIANTS = [
    ("musicflamingo", 1800, None),
    ("musicflamingo", 1200, 1800.0),
    ("audioflamingonext", 1800, 1800.0),
    ("audioflamingonext", 1200, None),
]


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda v: f"{v[0]}-{v[1]}s-theta{v[2] or 'default'}")
def variant(request, tmp_path_factory) -> tuple[Path, tuple]:
    model_type, max_audio_len, rope_theta = request.param
    folder = tmp_path_factory.mktemp(f"{model_type}-{max_audio_len}")
    tiny.build_tiny_model(folder, model_type=model_type, max_audio_len=max_audio_len, rope_theta=rope_theta)
    return folder, request.param


def test_the_folder_is_written_as_its_type_publishes_it(variant):
    folder, (model_type, max_audio_len, rope_theta) = variant
    config = json.loads((folder / "config.json").read_text())
    processor = json.loads((folder / "processor_config.json").read_text())
    assert config["model_type"] == model_type
    assert config["rope_parameters"]["rope_theta"] == (rope_theta or 1200.0)
    assert processor["max_audio_len"] == max_audio_len
    prefix = architecture.MODEL_TYPES[model_type]
    assert config["architectures"] == [f"{prefix}ForConditionalGeneration"]
    assert processor["processor_class"] == f"{prefix}Processor"


def test_every_variant_loads_with_its_window_and_rote_as_written(variant):
    folder, (model_type, max_audio_len, rope_theta) = variant
    written = json.loads((folder / "config.json").read_text())["rope_parameters"]
    loaded = load_model(folder, device="cpu")
    assert loaded.max_audio_s == max_audio_len
    assert loaded.model.config.rope_parameters == written  # nothing overrides the RoTE parameters
    rote = loaded.model.model.pos_emb
    assert rote.max_seq_len_cached == written["rope_theta"]
    rotary_dim = int(loaded.model.config.head_dim * written["partial_rotary_factor"])
    assert rote.inv_freq.numel() * 2 == rotary_dim
    assert _generates(loaded) > 0


def _generates(loaded) -> int:
    audio = np.zeros(16000 * 2, dtype=np.float32)
    conversation = [
        {"role": "user", "content": [{"type": "audio", "audio": audio}, {"type": "text", "text": "Hi?"}]}
    ]
    inputs = loaded.processor.apply_chat_template(conversation, tokenize=True, add_generation_prompt=True,
                                                  return_dict=True)  # fmt: skip
    inputs["input_features"] = inputs["input_features"].to(loaded.dtype)
    with torch.inference_mode():
        out = loaded.model.generate(**inputs, max_new_tokens=4, do_sample=False)
    return out.shape[1] - inputs["input_ids"].shape[1]


def test_a_mapped_folder_loads_the_same_weights_as_its_musicflamingo_twin(tmp_path: Path):
    twins = [
        load_model(tiny.build_tiny_model(tmp_path / t, model_type=t), device="cpu")
        for t in ("musicflamingo", "audioflamingonext")
    ]
    first, second = (dict(loaded.model.state_dict()) for loaded in twins)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)  # lm_head included: no key lost


def test_a_transformers_that_knows_audioflamingonext_loads_it_with_its_own_classes(monkeypatch):
    import transformers

    class AudioFlamingoNextForConditionalGeneration(transformers.MusicFlamingoForConditionalGeneration):
        pass

    class AudioFlamingoNextProcessor(transformers.MusicFlamingoProcessor):
        pass

    monkeypatch.setattr(transformers, "AudioFlamingoNextForConditionalGeneration",
                        AudioFlamingoNextForConditionalGeneration, raising=False)  # fmt: skip
    monkeypatch.setattr(transformers, "AudioFlamingoNextProcessor", AudioFlamingoNextProcessor, raising=False)
    native = architecture.architecture_for({"model_type": "audioflamingonext"})
    assert native.model_class is AudioFlamingoNextForConditionalGeneration
    assert native.processor_class is AudioFlamingoNextProcessor
    assert native.config is None  # the folder's own config.json, read by its own class


def test_the_musicflamingo_type_always_loads_with_its_own_classes():
    import transformers

    chosen = architecture.architecture_for({"model_type": "musicflamingo"})
    assert chosen.model_class is transformers.MusicFlamingoForConditionalGeneration
    assert chosen.processor_class is transformers.MusicFlamingoProcessor
    assert chosen.config is None


@pytest.mark.parametrize(
    ("max_audio_len", "kept"), [(1800, 1800.0), (1200, 1200.0), (1250, 1230.0), (45, 30.0)]
)
def test_the_audio_limit_is_whole_windows_of_the_processor(max_audio_len: int, kept: float):
    processor = SimpleNamespace(
        max_audio_len=max_audio_len, feature_extractor=SimpleNamespace(chunk_length=30)
    )
    assert architecture.audio_limit_s(processor) == kept
