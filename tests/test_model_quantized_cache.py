"""The on-disk quantized copy: the second load reads it instead of quantizing, answers as the
fresh quantization does, and a stale, broken or half-written copy is rebuilt, never an error."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import bitsandbytes.functional
import numpy as np
import pytest
import torch

from engine.model import quantized_cache
from engine.model.loading import load_model
from engine.model.quantized_load import FROM_CHECKPOINT, FROM_COPY


@pytest.fixture
def model_dir(tiny_model: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny model, whose files the tests touch."""
    return Path(shutil.copytree(tiny_model, tmp_path / "model"))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "quantized"


@pytest.fixture
def quantizations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts bitsandbytes' quantizing calls, 4-bit and 8-bit."""
    calls: list[str] = []
    for name in ("quantize_4bit", "int8_vectorwise_quant"):
        original = getattr(bitsandbytes.functional, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(bitsandbytes.functional, name, counted)
    return calls


def greedy_answer(loaded) -> list[int]:
    audio = np.sin(np.linspace(0, 800, 16000 * 2)).astype(np.float32) * 0.1
    conversation = [
        {"role": "user", "content": [{"type": "audio", "audio": audio}, {"type": "text", "text": "What?"}]}
    ]
    inputs = loaded.processor.apply_chat_template(
        conversation, tokenize=True, add_generation_prompt=True, return_dict=True
    )
    inputs["input_features"] = inputs["input_features"].to(loaded.dtype)
    with torch.inference_mode():
        out = loaded.model.generate(**inputs, max_new_tokens=12, do_sample=False)
    return out[0, inputs["input_ids"].shape[1] :].tolist()


def copy_folder(cache: Path, model_dir: Path, precision: str) -> Path:
    return quantized_cache.slot(cache, model_dir, precision, "cpu")


@pytest.mark.parametrize("precision", ["nf4", "int8"])
def test_the_second_load_reads_the_copy_and_answers_alike(
    model_dir: Path, cache: Path, quantizations: list[str], precision: str
):
    fresh = load_model(model_dir, precision, "cpu", cache_dir=cache)
    assert fresh.source == FROM_CHECKPOINT and quantizations  # quantized while loading
    assert (copy_folder(cache, model_dir, precision) / quantized_cache.KEY_FILE).is_file()
    quantizations.clear()
    cached = load_model(model_dir, precision, "cpu", cache_dir=cache)
    assert cached.source == FROM_COPY
    assert quantizations == []  # nothing quantized: the weights came from the copy
    assert greedy_answer(cached) == greedy_answer(fresh)
    assert cached.param_bytes == fresh.param_bytes


def test_without_a_cache_folder_nothing_is_written(model_dir: Path, tmp_path: Path):
    before = set(tmp_path.rglob("*"))
    assert load_model(model_dir, "nf4", "cpu").source == FROM_CHECKPOINT
    assert set(tmp_path.rglob("*")) == before


def touch_shard(model_dir: Path) -> None:
    shard = model_dir / "model.safetensors"
    stat = shard.stat()
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def bump_torch_version(monkeypatch: pytest.MonkeyPatch) -> None:
    versions = {**quantized_cache.library_versions(), "torch": "99.0"}
    monkeypatch.setattr(quantized_cache, "library_versions", lambda: versions)


def change_config(model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**config, "heron_test": 1}))


@pytest.mark.parametrize("change", [touch_shard, bump_torch_version, change_config])
def test_a_stale_copy_is_replaced(
    model_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, change
):
    load_model(model_dir, "nf4", "cpu", cache_dir=cache)
    change(monkeypatch) if change is bump_torch_version else change(model_dir)
    with caplog.at_level(logging.WARNING, logger="engine.model.quantized_cache"):
        assert load_model(model_dir, "nf4", "cpu", cache_dir=cache).source == FROM_CHECKPOINT
    assert "discarded and rebuilt: the checkpoint or a library changed" in caplog.text
    assert load_model(model_dir, "nf4", "cpu", cache_dir=cache).source == FROM_COPY
    assert [p.name for p in copy_folder(cache, model_dir, "nf4").parent.iterdir()] == ["nf4-cpu"]  # one copy


def cut_weights(folder: Path) -> None:
    weights = next(folder.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])


def damage_key_file(folder: Path) -> None:
    (folder / quantized_cache.KEY_FILE).write_text("{not json")


def drop_a_tensor(folder: Path, suffix: str = ".weight.nested_absmax", rerecord_header: bool = False) -> None:
    """A tensor gone (by default a 4-bit weight's statistics), the record's size made to agree."""
    from safetensors.torch import load_file, save_file

    weights = next(folder.glob("*.safetensors"))
    tensors = load_file(weights)
    tensors.pop(next(name for name in tensors if name.endswith("layers.1.mlp.down_proj" + suffix)))
    save_file(tensors, weights, metadata={"format": "pt"})
    record = json.loads((folder / quantized_cache.KEY_FILE).read_text())
    record["files"][weights.name][0] = weights.stat().st_size
    if rerecord_header:
        with open(weights, "rb") as f:
            header = f.read(int.from_bytes(f.read(8), "little"))
        record["files"][weights.name][1] = hashlib.sha256(header).hexdigest()
    (folder / quantized_cache.KEY_FILE).write_text(json.dumps(record))


def drop_a_weight_everywhere(folder: Path) -> None:
    """A weight gone and the record rewritten to match: what loading itself must catch."""
    drop_a_tensor(folder, ".weight", rerecord_header=True)


@pytest.mark.parametrize(
    ("damage", "logged"),
    [
        (cut_weights, "wrong size or a changed header"),
        (damage_key_file, "unreadable"),
        (drop_a_tensor, "wrong size or a changed header"),
        (drop_a_weight_everywhere, "it does not load"),
    ],
)
def test_a_broken_copy_is_rebuilt_with_a_log_line(
    model_dir: Path, cache: Path, caplog: pytest.LogCaptureFixture, damage, logged: str
):
    load_model(model_dir, "nf4", "cpu", cache_dir=cache)
    damage(copy_folder(cache, model_dir, "nf4"))
    with caplog.at_level(logging.WARNING, logger="engine.model.quantized_cache"):
        assert load_model(model_dir, "nf4", "cpu", cache_dir=cache).source == FROM_CHECKPOINT
    assert logged in caplog.text
    assert load_model(model_dir, "nf4", "cpu", cache_dir=cache).source == FROM_COPY


def test_a_write_cut_short_leaves_no_copy(model_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch):
    """A process killed (here: a disk full) mid-write leaves only a temporary folder, never read."""
    from transformers import PreTrainedModel

    real_save = PreTrainedModel.save_pretrained

    def save_then_fail(self, folder, **kwargs):
        real_save(self, folder, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", save_then_fail)
    assert load_model(model_dir, "nf4", "cpu", cache_dir=cache).source == FROM_CHECKPOINT  # no error
    folder = copy_folder(cache, model_dir, "nf4")
    assert not folder.exists() and list(folder.parent.iterdir()) == []  # the partial write was removed
    leftover = folder.parent / f".tmp-nf4-cpu-{2**22 + 7}-deadbeef"  # as a killed process leaves it
    shutil.copytree(model_dir, leftover)
    monkeypatch.setattr(PreTrainedModel, "save_pretrained", real_save)
    assert load_model(model_dir, "nf4", "cpu", cache_dir=cache).source == FROM_CHECKPOINT
    assert sorted(p.name for p in folder.parent.iterdir()) == ["nf4-cpu"]  # the leftover is gone
    assert load_model(model_dir, "nf4", "cpu", cache_dir=cache).source == FROM_COPY


def test_no_copy_when_the_disk_is_short(model_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**12, 10**12, 10**6))
    assert load_model(model_dir, "nf4", "cpu", cache_dir=cache).source == FROM_CHECKPOINT
    assert not copy_folder(cache, model_dir, "nf4").exists()


def test_copies_of_a_removed_model_are_pruned(cache: Path, tiny_model: Path, tmp_path: Path):
    hidden = Path(shutil.copytree(tiny_model, tmp_path / ".hidden-model"))  # its copy's folder is hidden too
    load_model(hidden, "nf4", "cpu", cache_dir=cache)
    gone = copy_folder(cache, hidden, "nf4")
    assert quantized_cache.summary(cache).startswith("1 quantized copy")
    shutil.rmtree(hidden)
    other = Path(shutil.copytree(tiny_model, tmp_path / "other"))
    load_model(other, "nf4", "cpu", cache_dir=cache)  # writing a copy prunes the orphans
    assert not gone.exists()
    assert copy_folder(cache, other, "nf4").exists()


def test_a_copy_is_keyed_on_precision_and_device_kind(model_dir: Path, cache: Path):
    files = sorted(model_dir.glob("*.safetensors"))
    nf4 = quantized_cache.cache_key(model_dir, files, "nf4", "cpu")
    assert quantized_cache.cache_key(model_dir, files, "nf4", "cuda:1")["device"] == "cuda"
    assert nf4 != quantized_cache.cache_key(model_dir, files, "int8", "cpu")
    assert set(nf4["versions"]) == {"torch", "transformers", "bitsandbytes", "safetensors"}
    assert copy_folder(cache, model_dir, "nf4") != quantized_cache.slot(cache, model_dir, "nf4", "cuda")


def test_the_engine_keeps_copies_in_the_apps_cache_folder(model_dir: Path, tmp_path: Path):
    from engine.requests import LoadRequest, ModelChoice
    from engine.runtime.doctor import run_checks
    from engine.runtime.host import ModelHost

    cache_dir = tmp_path / "app-cache"
    choice = ModelChoice(str(model_dir), str(tmp_path / "models"), "nf4", "cpu", cache_dir=str(cache_dir))
    assert list(ModelHost().load(LoadRequest(choice)))[-1].stats["loaded_from"] == FROM_CHECKPOINT
    assert list(ModelHost().load(LoadRequest(choice)))[-1].stats["loaded_from"] == FROM_COPY  # a new engine
    check = next(c for c in run_checks(tmp_path / "models", cache_dir) if c.name == "Quantized copies")
    assert check.detail.startswith("1 quantized copy, 0.0 GB in ")
    assert check.detail.endswith(str(cache_dir / quantized_cache.FOLDER))
