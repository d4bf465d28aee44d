"""The fast quantized CPU paths (engine/model/fast_paths.py, cpu_kernels.py) against bitsandbytes as is.

The fast path's 4-bit layers with the fused prefill are stock's bit for bit (the same kernel on
the same packed bytes), so are its logits. Bounds, on the tiny model's last-token logits (values
within about ±0.5):
- nf4 dequantize-then-GEMM: bf16 products too, the same bounds;
- int8 dequantize-then-GEMM: weight-only bf16 instead of LLM.int8's 8-bit activations, max abs
  diff ≤ 2 %, cosine ≥ 0.9999, and at least as close to the fp32 model as stock int8 is.
"""

from __future__ import annotations

import copy
from pathlib import Path

import bitsandbytes as bnb
import numpy as np
import pytest
import torch
from bitsandbytes.functional import _convert_weight_packed_for_cpu

from engine.inference.conversation import Conversation
from engine.inference.prompt import full_prompt
from engine.model import cpu_kernels, fast_paths
from engine.model.loading import load_model

ANSWER_TOKENS = 8


def quantized_layer(rows: int = 96, cols: int = 256, seed: int = 0) -> bnb.nn.Linear4bit:
    torch.manual_seed(seed)
    layer = bnb.nn.Linear4bit(cols, rows, bias=True, compute_dtype=torch.float32, quant_type="nf4")
    weight = torch.randn(rows, cols) * 0.02
    layer.weight = bnb.nn.Params4bit(weight, requires_grad=False, quant_type="nf4", compress_statistics=True)
    layer.weight._quantize("cpu")
    layer.weight.module = layer
    return layer.eval()


# --- the kernels ------------------------------------------------------------------------------


def test_pack_gives_bitsandbytes_own_cpu_layout():
    layer = quantized_layer()
    theirs, their_state = _convert_weight_packed_for_cpu(
        layer.weight.data.clone(), copy.deepcopy(layer.weight.quant_state)
    )
    ours, our_state = cpu_kernels.pack_4bit(
        layer.weight.data.clone(), copy.deepcopy(layer.weight.quant_state)
    )
    assert torch.equal(ours, theirs)
    assert torch.equal(our_state.absmax, their_state.absmax)
    assert (our_state.dtype, our_state.nested, our_state.packing_format_for_cpu) == (
        torch.bfloat16,
        False,
        True,
    )


def test_unpack_restores_the_standard_layout():
    layer = quantized_layer()
    before = layer.weight.data.clone()
    cpu_kernels.pack(layer)
    cpu_kernels.unpack(layer)
    assert torch.equal(layer.weight.data, before)
    assert not cpu_kernels.is_packed(layer.weight.quant_state)


def test_dequantize_packed_matches_bitsandbytes_dequantize():
    layer = quantized_layer()
    expected = bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state).float()
    cpu_kernels.pack(layer)
    got = cpu_kernels.dequantize_4bit(layer).float()
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) <= 2**-7 * float(expected.abs().max())  # bf16 rounding


def test_training_calls_take_bitsandbytes_differentiable_path():
    stock, fast = quantized_layer(), quantized_layer()
    fast.heron_prefill_kernel = "dequant"
    cpu_kernels.pack(fast)
    fast.train()
    x = torch.randn(4, 256)
    grads = []
    for forward in (stock.forward, lambda v: cpu_kernels.fast_forward_4bit(fast, v)):
        leaf = x.clone().requires_grad_(True)
        forward(leaf).sum().backward()
        grads.append(leaf.grad)
    assert torch.allclose(grads[0], grads[1])
    assert not cpu_kernels.is_packed(fast.weight.quant_state)


def test_prefill_kernel_follows_the_setting_then_the_cpu(monkeypatch):
    monkeypatch.setenv(fast_paths.PREFILL_ENV, "dequant")
    assert fast_paths.prefill_kernel("nf4") == "dequant"
    monkeypatch.delenv(fast_paths.PREFILL_ENV)
    monkeypatch.setattr(fast_paths, "cpu_has_amx", lambda: False)
    assert (fast_paths.prefill_kernel("nf4"), fast_paths.prefill_kernel("int8")) == ("fused", "dequant")
    monkeypatch.setattr(fast_paths, "cpu_has_amx", lambda: True)
    assert fast_paths.prefill_kernel("nf4") == "dequant"


def test_amx_is_read_from_cpu_flags(tmp_path: Path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert fast_paths.cpu_has_amx(info)
    info.write_text("flags\t\t: fpu avx512f avx512_bf16\n")
    assert not fast_paths.cpu_has_amx(info)


# --- the tiny model, stock against fast --------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.model.tiny import ensure_tiny_model

    return ensure_tiny_model(tmp_path_factory.getbasetemp() / "tiny-shared")


def answer(tiny_dir: Path, precision: str, env: dict[str, str]) -> tuple[torch.Tensor, list[int], str]:
    """Last-token logits of a prompt with 3 s of audio (over a thousand tokens), and the greedy answer."""
    with pytest.MonkeyPatch.context() as patch:
        for name in (fast_paths.PATH_ENV, fast_paths.PREFILL_ENV):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        loaded = load_model(tiny_dir, precision=precision, device="cpu")
    conversation = Conversation()
    conversation.ask(
        "What do you hear?", (0.1 * np.random.default_rng(0).standard_normal(48_000)).astype(np.float32)
    )
    inputs = full_prompt(loaded, conversation).inputs
    with torch.inference_mode():
        logits = loaded.model(**inputs).logits[0, -1].float()
        ids = loaded.model.generate(**inputs, max_new_tokens=ANSWER_TOKENS, do_sample=False)
    return logits, ids[0, -ANSWER_TOKENS:].tolist(), loaded.model.heron_quant_path


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


def test_fused_layer_is_stock_bit_for_bit():
    stock, fast = quantized_layer(), quantized_layer()
    fast.heron_prefill_kernel = "fused"
    cpu_kernels.pack(fast)  # ours at load; bitsandbytes converts the stock layer on its first call
    for tokens in (1, 300):
        x = torch.randn(tokens, 256)
        with torch.inference_mode():
            assert torch.equal(cpu_kernels.fast_forward_4bit(fast, x), stock(x))


def test_nf4_fused_prefill_within_bounds(tiny_dir: Path):
    stock, stock_answer, stock_path = answer(tiny_dir, "nf4", {fast_paths.PATH_ENV: "stock"})
    fast, fast_answer, fast_path = answer(tiny_dir, "nf4", {fast_paths.PREFILL_ENV: "fused"})
    assert (stock_path, fast_path) == ("stock", "fast-fused")
    assert torch.equal(fast, stock)
    assert fast_answer == stock_answer


def test_nf4_dequantized_prefill_within_bounds(tiny_dir: Path):
    stock, stock_answer, _ = answer(tiny_dir, "nf4", {fast_paths.PATH_ENV: "stock"})
    fast, fast_answer, path = answer(tiny_dir, "nf4", {fast_paths.PREFILL_ENV: "dequant"})
    assert path == "fast-dequant"
    assert float((fast - stock).abs().max()) <= 0.01 * float(stock.abs().max())
    assert cosine(fast, stock) >= 0.9999
    assert fast_answer == stock_answer


def test_int8_dequantized_prefill_within_bounds(tiny_dir: Path):
    exact, _, _ = answer(tiny_dir, "fp32", {})
    stock, _, _ = answer(tiny_dir, "int8", {fast_paths.PATH_ENV: "stock"})
    fast, _, path = answer(tiny_dir, "int8", {})
    assert path == "fast-dequant"
    assert float((fast - stock).abs().max()) <= 0.02 * float(stock.abs().max())
    assert cosine(fast, stock) >= 0.9999
    assert cosine(fast, exact) >= cosine(stock, exact) - 1e-6  # weight-only: no 8-bit activations


def test_unquantized_models_keep_the_stock_path(tiny_dir: Path):
    loaded = load_model(tiny_dir, precision="fp32", device="cpu")
    assert loaded.model.heron_quant_path == "stock"


def test_unpack_after_pack_is_exact_for_training():
    layer = quantized_layer()
    before = bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state)
    cpu_kernels.pack(layer)
    cpu_kernels.unpack(layer)
    assert torch.equal(bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state), before)
