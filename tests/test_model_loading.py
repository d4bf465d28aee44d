"""Loading the tiny model at every precision on the CPU, and every refusal before loading."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import DeviceError, ModelError, ModelMissingError, OutOfMemoryError, RequestError
from engine.model import fit, loading
from engine.model.loading import PRECISIONS, TensorInfo, load_model
from engine.model.precision import QUANTIZED, cpu_has_bf16

LANGUAGE_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.fixture(scope="session")
def tiny_dir(tiny_model: Path) -> Path:
    """The tiny model built once per session by tests/conftest.py."""
    return tiny_model


@pytest.fixture
def copy_dir(tiny_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny model to break."""
    return Path(shutil.copytree(tiny_dir, tmp_path / "model"))


def generate_tokens(loaded) -> int:
    audio = np.zeros(16000 * 3, dtype=np.float32)
    conversation = [
        {"role": "user", "content": [{"type": "audio", "audio": audio}, {"type": "text", "text": "Hi?"}]}
    ]
    inputs = loaded.processor.apply_chat_template(
        conversation, tokenize=True, add_generation_prompt=True, return_dict=True
    )
    inputs["input_features"] = inputs["input_features"].to(loaded.dtype)
    with torch.inference_mode():
        out = loaded.model.generate(**inputs, max_new_tokens=16, do_sample=False)
    return out.shape[1] - inputs["input_ids"].shape[1]


def linear_types(model) -> dict[str, str]:
    return {
        name: type(module).__name__
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) or type(module).__name__.startswith("Linear")
    }


# --- every precision on the CPU ----------------------------------------------------------


@pytest.mark.parametrize("precision", PRECISIONS)
def test_every_precision_loads_and_generates_on_cpu(tiny_dir: Path, precision: str):
    loaded = load_model(tiny_dir, precision=precision, device="cpu")
    assert (loaded.precision, loaded.device, loaded.path) == (precision, "cpu", tiny_dir)
    assert not loaded.model.training
    assert loaded.param_bytes > 0 and loaded.load_seconds > 0
    # A quantized model's other parts are bf16 where the CPU computes bf16 (engine/model/precision.py).
    bf16 = precision == "bf16" or (precision in QUANTIZED and cpu_has_bf16())
    assert loaded.dtype == (torch.bfloat16 if bf16 else torch.float32)
    assert loaded.model.model.audio_tower.conv1.weight.dtype == loaded.dtype
    assert generate_tokens(loaded) >= 10


@pytest.mark.parametrize("precision", QUANTIZED)
def test_a_cpu_without_bf16_keeps_a_quantized_models_other_parts_in_fp32(
    tiny_dir: Path, precision: str, monkeypatch: pytest.MonkeyPatch
):
    from engine.model import precision as precisions

    monkeypatch.setattr(precisions, "cpu_has_bf16", lambda: False)
    loaded = load_model(tiny_dir, precision=precision, device="cpu")
    assert loaded.dtype == torch.float32
    assert (
        loaded.model.lm_head.weight.dtype
        == loaded.model.model.audio_tower.conv1.weight.dtype
        == torch.float32
    )
    assert generate_tokens(loaded) >= 10


@pytest.mark.parametrize(("precision", "quantized_type"), [("nf4", "Linear4bit"), ("int8", "Linear8bitLt")])
def test_quantization_hits_language_model_only(tiny_dir: Path, precision: str, quantized_type: str):
    types = linear_types(load_model(tiny_dir, precision=precision, device="cpu").model)
    language = {n: t for n, t in types.items() if n.startswith("model.language_model.")}
    kept = {n: t for n, t in types.items() if n.startswith(tuple(loading.SKIP_MODULES))}
    assert len(language) == 2 * len(LANGUAGE_LINEARS)  # 2 layers
    assert set(language.values()) == {quantized_type}
    assert any(n.startswith("model.audio_tower.") for n in kept)
    assert any(n.startswith("model.multi_modal_projector.") for n in kept)
    assert "lm_head" in kept
    assert set(kept.values()) == {"Linear"}
    assert set(types) == set(language) | set(kept)  # nothing else slipped through


def test_defaults_on_this_machine(tiny_dir: Path):
    if torch.cuda.is_available():
        pytest.skip("CPU-only expectations")
    assert loading.choose_device(None) == "cpu"
    loaded = load_model(tiny_dir)
    assert (loaded.device, loaded.precision) == ("cpu", "fp32"), "a small model keeps fp32"
    assert loaded.max_audio_s == 1800


# --- devices and precisions --------------------------------------------------------------


def test_cuda_without_cuda_is_a_device_error(tiny_dir: Path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="No CUDA GPU was found.*--device cpu"):
        loading.choose_device("cuda")
    with pytest.raises(DeviceError, match="--device cpu"):
        load_model(tiny_dir, precision="bf16", device="cuda:0")


def test_unknown_device_and_precision(tiny_dir: Path):
    with pytest.raises(DeviceError, match="Unknown device 'tpu'"):
        loading.choose_device("tpu")
    with pytest.raises(RequestError, match="Unknown precision 'fp8'.*nf4, int8, bf16, fp32"):
        load_model(tiny_dir, precision="fp8", device="cpu")


# --- validation before loading -----------------------------------------------------------


def assert_one_line(exc_info: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(exc_info.value) and str(exc_info.value).strip()


def test_missing_folder(tmp_path: Path):
    with pytest.raises(ModelMissingError, match="Model folder not found.*heron models download") as info:
        load_model(tmp_path / "nowhere", device="cpu")
    assert_one_line(info)


def test_file_instead_of_folder(copy_dir: Path):
    with pytest.raises(ModelError, match="is a file, not a model folder"):
        load_model(copy_dir / "config.json", device="cpu")


def test_no_config(copy_dir: Path):
    (copy_dir / "config.json").unlink()
    with pytest.raises(ModelError, match="has no config.json") as info:
        load_model(copy_dir, device="cpu")
    assert_one_line(info)


def test_invalid_config_json(copy_dir: Path):
    (copy_dir / "config.json").write_text('{"model_type": "musicflamingo",\n  oops')
    with pytest.raises(ModelError, match=r"config.json is not valid JSON \(line 2\)") as info:
        load_model(copy_dir, device="cpu")
    assert_one_line(info)


def test_wrong_model_type(copy_dir: Path):
    config = json.loads((copy_dir / "config.json").read_text())
    config["model_type"] = "qwen2"
    (copy_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="is a qwen2 model, not AF-Next") as info:
        load_model(copy_dir, device="cpu")
    assert_one_line(info)


def test_bin_weights_are_refused_with_a_way_out(copy_dir: Path):
    (copy_dir / "model.safetensors").rename(copy_dir / "pytorch_model.bin")
    with pytest.raises(ModelError, match=r"only PyTorch \.bin.*safetensors only.*save_pretrained") as info:
        load_model(copy_dir, device="cpu")
    assert_one_line(info)


def test_no_weights_at_all(copy_dir: Path):
    (copy_dir / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=r"no \*\.safetensors weights"):
        load_model(copy_dir, device="cpu")


def test_missing_shard(copy_dir: Path):
    index = {
        "metadata": {},
        "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model.safetensors"},
    }
    (copy_dir / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="missing weight file.*model-00001-of-00002.safetensors.*incomplete"):
        load_model(copy_dir, device="cpu")


def test_damaged_weights(copy_dir: Path):
    (copy_dir / "model.safetensors").write_bytes(b"\xff" * 16)
    with pytest.raises(ModelError) as info:
        loading.estimate_weight_bytes(copy_dir, "bf16")
    assert "not a readable safetensors file" in str(info.value)
    with pytest.raises(ModelError, match="not a readable safetensors file.*download the model again") as info:
        load_model(copy_dir, device="cpu")
    assert_one_line(info)


def test_cut_off_weights(copy_dir: Path):
    data = (copy_dir / "model.safetensors").read_bytes()
    (copy_dir / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="is cut short.*download the model again") as info:
        load_model(copy_dir, device="cpu")
    assert_one_line(info)


def test_errors_the_loader_finds_are_one_line(copy_dir: Path, monkeypatch: pytest.MonkeyPatch):
    # Past validation, a failing from_pretrained still ends as one actionable line.
    monkeypatch.setattr(loading, "check_weight_files", lambda path: None)
    data = (copy_dir / "model.safetensors").read_bytes()
    (copy_dir / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="Could not load the weights.*download the model again") as info:
        load_model(copy_dir, device="cpu")
    assert_one_line(info)


@pytest.mark.parametrize(
    ("remove", "message"),
    [(["tokenizer.json"], "has no tokenizer"), (["processor_config.json"], "has no processor_config.json")],
)
def test_missing_processor_files(copy_dir: Path, remove: list[str], message: str):
    for name in remove:
        (copy_dir / name).unlink()
    with pytest.raises(ModelError, match=message) as info:
        load_model(copy_dir, device="cpu")
    assert_one_line(info)


@pytest.mark.parametrize("precision", ["nf4", "int8"])
def test_quantized_without_bitsandbytes(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch, precision: str):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # makes `import bitsandbytes` fail
    with pytest.raises(
        ModelError, match=f"Precision {precision} needs the bitsandbytes package.*bf16"
    ) as info:
        load_model(tiny_dir, precision=precision, device="cpu")
    assert_one_line(info)
    assert load_model(tiny_dir, precision="fp32", device="cpu").precision == "fp32"


# --- memory --------------------------------------------------------------------------------


def test_estimates_follow_precision(tiny_dir: Path):
    sizes = {p: loading.estimate_weight_bytes(tiny_dir, p, device="cuda") for p in PRECISIONS}
    assert sizes["nf4"] < sizes["int8"] < sizes["bf16"] < sizes["fp32"]
    on_disk = (tiny_dir / "model.safetensors").stat().st_size
    assert abs(sizes["fp32"] - on_disk) < 0.02 * on_disk  # fp32 tiny model: the file is the weights
    assert sizes["bf16"] * 2 == sizes["fp32"]


def test_estimates_match_the_loaded_footprint(tiny_dir: Path):
    for precision in ("nf4", "fp32"):
        loaded = load_model(tiny_dir, precision=precision, device="cpu")
        estimate = loading.estimate_weight_bytes(tiny_dir, precision, device="cpu")
        assert abs(loaded.param_bytes - estimate) < 0.1 * loaded.param_bytes


def test_real_size_estimates_match_the_design_notes():
    # The Qwen2-7B + AF-Whisper shapes of AF-Next, built on the meta device (no memory, no download).
    from transformers import (
        AudioFlamingo3EncoderConfig,
        MusicFlamingoConfig,
        MusicFlamingoForConditionalGeneration,
        Qwen2Config,
    )

    text = Qwen2Config(
        vocab_size=151936,
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        tie_word_embeddings=False,
    )
    config = MusicFlamingoConfig(audio_config=AudioFlamingo3EncoderConfig(), text_config=text)
    with torch.device("meta"):
        model = MusicFlamingoForConditionalGeneration(config)
    tensors = [TensorInfo(n, tuple(t.shape), "BF16") for n, t in model.state_dict().items()]
    gb = {p: loading.estimate_tensors_bytes(tensors, p, "cuda") / 1e9 for p in PRECISIONS}
    assert gb["bf16"] == pytest.approx(16.5, abs=0.3)
    assert gb["int8"] == pytest.approx(10.0, abs=0.5)
    assert gb["nf4"] == pytest.approx(6.8, abs=0.3)
    # The figures the model manager advises with before a download are these estimates.
    for kind in ("cpu", "cuda"):
        published = fit.published_figures(kind)
        for precision in PRECISIONS:
            estimate = loading.estimate_tensors_bytes(tensors, precision, kind)
            assert published.weights[precision] == pytest.approx(estimate, rel=0.005), (kind, precision)
        assert published.params == pytest.approx(sum(t.numel() for t in model.parameters()), rel=0.001)
        assert published.kv_values_per_token == fit.kv_values_per_token(text.to_dict())


# --- choosing by memory, before loading --------------------------------------------------------


@pytest.fixture
def no_weights_loaded(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records every call that would load weights, and loads none."""
    from transformers import MusicFlamingoForConditionalGeneration

    calls: list = []
    monkeypatch.setattr(
        MusicFlamingoForConditionalGeneration, "from_pretrained", lambda *a, **k: calls.append(a)
    )
    return calls


def test_a_model_that_does_not_fit_is_refused_before_loading(
    tiny_dir: Path, monkeypatch: pytest.MonkeyPatch, no_weights_loaded: list
):
    monkeypatch.setattr(fit, "cpu_machine", lambda: fit.Machine("cpu", 10**9, bf16_native=True))
    # The tiny model's weights are a few MB; the runtime's 1.5 GB margin is what does not fit.
    with pytest.raises(OutOfMemoryError) as info:
        load_model(tiny_dir, device="cpu")
    assert_one_line(info)
    message = str(info.value)
    assert "in nf4 on the CPU it needs about 1.5 GB" in message, message
    assert "KV cache and prefill for 30 s of audio" in message and "but 1.0 GB of RAM is available" in message
    assert message.endswith(
        "Close other programs, or run the model on a GPU machine with `heron serve` and connect with --server."
    )
    with pytest.raises(OutOfMemoryError, match="in bf16 on the CPU it needs about 1.5 GB"):
        load_model(tiny_dir, precision="bf16", device="cpu")
    assert not no_weights_loaded


def test_memory_for_less_than_the_whole_window_shortens_it(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch):
    # The tiny model's 30 min prompt holds about 120 MB of KV cache and prefill: give it 60.
    monkeypatch.setattr(fit, "cpu_machine", lambda: fit.Machine("cpu", int(1.56e9), bf16_native=True))
    loaded = load_model(tiny_dir, precision="fp32", device="cpu")
    assert 60 <= loaded.max_audio_s < 1800 and loaded.max_audio_s % 30 == 0
    assert generate_tokens(loaded) >= 10


def test_a_full_gpu_passes_the_model_to_the_cpu(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(loading, "choose_device", lambda requested=None: requested or "cuda")
    monkeypatch.setattr(
        fit, "cuda_machine", lambda device: fit.Machine(device, 10**8, True, "GPU memory on G")
    )
    monkeypatch.setattr(fit, "cpu_machine", lambda: fit.Machine("cpu", 8 * 10**9, False))
    config = loading.validate_model_folder(tiny_dir)
    placed = loading.place(tiny_dir, config, 1800.0, None, None)
    assert (placed.device, placed.precision) == ("cpu", "fp32")
    with pytest.raises(
        OutOfMemoryError, match="on the GPU it needs .* 0.1 GB of GPU memory on G is available"
    ):
        loading.place(tiny_dir, config, 1800.0, None, "cuda")


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"),
        RuntimeError("CUDA out of memory"),
    ],
)
def test_out_of_memory_while_loading(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch, error: Exception):
    import transformers

    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(transformers.MusicFlamingoForConditionalGeneration, "from_pretrained", boom)
    with pytest.raises(
        OutOfMemoryError, match="Ran out of RAM loading the model in bf16: try --precision int8"
    ):
        load_model(tiny_dir, precision="bf16", device="cpu")
