"""Attention for decoding on a CPU: one query token against the KV cache, heads grouped.

The language model shares each key/value head among 7 query heads (grouped-query attention).
For a single query token transformers hands PyTorch's CPU attention all 28 query heads with
``enable_gqa``, and that kernel is slow there, in bf16 most of all: at full size on the 2-core
AVX512-BF16 test machine, 3.1 ms a layer with 1,059 cached tokens and 37 ms with 12,000, a
third of a token's time and then most of it. Packed as 4 heads of 7 queries each (the layout
transformers itself uses where it cannot pass ``enable_gqa``), the same kernel takes 0.24 ms
and 2.8 ms and gives the same result (within 5e-7, fp32 accumulation either way). Prompts
(many query tokens) and every other case keep transformers' own SDPA attention.

``HERON_CPU_ATTENTION=stock`` keeps transformers' attention for decoding too.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from transformers import AttentionInterface, AttentionMaskInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import sdpa_mask

NAME = "heron_cpu"
ENV = "HERON_CPU_ATTENTION"


def install(model: Any, device: str) -> bool:
    """Decode with grouped heads on a CPU (unless the setting says stock); True when installed."""
    if device != "cpu" or os.environ.get(ENV, "").strip().lower() == "stock":
        return False
    AttentionInterface.register(NAME, grouped_decode_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)  # the masks SDPA takes
    model.set_attn_implementation(NAME)
    return True


def grouped_decode_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """transformers' attention-function signature: (batch, heads, tokens, dim) in, (batch, tokens, heads, dim) out."""
    groups = getattr(module, "num_key_value_groups", 1)
    shared_mask = attention_mask is None or attention_mask.shape[1] == 1
    if query.shape[2] != 1 or groups == 1 or not shared_mask or kwargs.get("position_bias") is not None:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    batch, heads, _, dim = query.shape
    packed = query.reshape(batch, heads // groups, groups, dim)  # head h = kv head h // groups
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        attention_mask = attention_mask.to(query.dtype)
    out = F.scaled_dot_product_attention(packed, key, value, attn_mask=attention_mask, scale=scaling)
    return out.reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None
