"""Decoding's attention on a CPU with grouped heads (engine/model/cpu_attention.py) gives what
transformers' own SDPA attention gives: per call, and over a whole greedy answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from engine.model import cpu_attention
from engine.model.loading import load_model

ANSWER_TOKENS = 20


class GroupedHeads(torch.nn.Module):
    num_key_value_groups = 7  # AF-Next's language model: 28 query heads over 4 key/value heads
    is_causal = True


def qkv(tokens: int, cached: int, dtype=torch.float32, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    query = torch.randn(1, 28, tokens, 64, generator=generator).to(dtype)
    key, value = (torch.randn(1, 4, cached, 64, generator=generator).to(dtype) for _ in range(2))
    return query, key, value


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_one_token_gives_transformers_result(dtype):
    query, key, value = qkv(1, 300, dtype)
    ours, _ = cpu_attention.grouped_decode_attention(GroupedHeads(), query, key, value, None, scaling=0.125)
    theirs, _ = sdpa_attention_forward(GroupedHeads(), query, key, value, None, scaling=0.125)
    assert ours.shape == theirs.shape == (1, 1, 28, 64)
    assert float((ours.float() - theirs.float()).abs().max()) <= (1e-6 if dtype == torch.float32 else 1e-2)


@pytest.mark.parametrize("boolean", [True, False])
def test_a_padding_mask_shared_by_the_heads_is_applied(boolean: bool):
    query, key, value = qkv(1, 50)
    keep = torch.ones(1, 1, 1, 50, dtype=torch.bool)
    keep[..., :20] = False  # left padding
    mask = keep if boolean else torch.zeros(1, 1, 1, 50).masked_fill(~keep, torch.finfo(torch.float32).min)
    ours, _ = cpu_attention.grouped_decode_attention(GroupedHeads(), query, key, value, mask, scaling=0.125)
    unpadded, _ = sdpa_attention_forward(
        GroupedHeads(), query, key[:, :, 20:], value[:, :, 20:], None, scaling=0.125
    )
    assert torch.allclose(ours, unpadded, atol=1e-6)


def test_a_prompt_keeps_transformers_attention(monkeypatch: pytest.MonkeyPatch):
    calls = []
    monkeypatch.setattr(
        cpu_attention, "sdpa_attention_forward", lambda *a, **k: calls.append(a) or ("stock", None)
    )
    query, key, value = qkv(5, 5)
    assert cpu_attention.grouped_decode_attention(GroupedHeads(), query, key, value, None)[0] == "stock"
    assert len(calls) == 1


def greedy(tiny_model: Path, precision: str):
    loaded = load_model(tiny_model, precision=precision, device="cpu")
    ids = torch.randint(10, 200, (1, 40), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = loaded.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=ANSWER_TOKENS, do_sample=False,
            output_logits=True, return_dict_in_generate=True,
        )  # fmt: skip
    return loaded, out.sequences, torch.stack(out.logits).float()


@pytest.mark.parametrize("precision", ["fp32", "bf16", "nf4"])
def test_a_greedy_answer_is_the_stock_attentions(tiny_model: Path, precision: str, monkeypatch):
    monkeypatch.setenv(cpu_attention.ENV, "stock")
    stock_model, stock_tokens, stock_logits = greedy(tiny_model, precision)
    assert stock_model.model.config.text_config._attn_implementation == "sdpa"
    monkeypatch.delenv(cpu_attention.ENV)
    loaded, tokens, logits = greedy(tiny_model, precision)
    assert loaded.model.config.text_config._attn_implementation == cpu_attention.NAME
    assert torch.equal(tokens, stock_tokens)
    bound = 1e-5 if precision == "fp32" else 2e-2  # bf16 rounds the attention's output differently
    assert float((logits - stock_logits).abs().max()) <= bound * float(stock_logits.abs().max())
