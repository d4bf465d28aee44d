"""bitsandbytes layers that prefill and decode fast on a CPU; training falls back to bitsandbytes as is.

bitsandbytes 0.50 runs 4-bit inference on an AVX512-BF16 CPU through one fused kernel on a
weight layout of its own, which it converts to on a layer's first inference call: that
conversion took most of a full-size model's first answer (minutes). ``pack_4bit`` gives the
same bytes about 4× faster (still on the first answer: a model loaded for training must keep
bitsandbytes' standard layout, byte for byte). Calls of many tokens (a prefill)
then take one of two kernels (``PREFILL_KERNELS``): the fused one, or the weight
dequantized to bf16 and one bf16 matrix product (what AMX CPUs run fastest). Calls of a few
tokens (decode) always take the fused kernel, which reads each weight once. 8-bit layers
prefill through a bf16 dequantized weight the same way, and decode as bitsandbytes does.
"""

from __future__ import annotations

import copy

import bitsandbytes as bnb
import torch
import torch.nn.functional as F
from bitsandbytes.functional import QuantState, dequantize_blockwise

PREFILL_KERNELS = ("fused", "dequant")
PREFILL_MIN_TOKENS = 32  # from here a call is a prefill: a matrix product, no longer a read of the weight
_BLOCK_N = 32  # rows per block of bitsandbytes' CPU layout (packing_format_for_cpu)


def tokens_of(x: torch.Tensor) -> int:
    return x.numel() // x.shape[-1]


def inference_call(module: torch.nn.Module, x: torch.Tensor) -> bool:
    return not module.training and not x.requires_grad


# --- 4 bits -------------------------------------------------------------------------------


def pack_4bit(weight: torch.Tensor, state: QuantState) -> tuple[torch.Tensor, QuantState]:
    """bitsandbytes' ``_convert_weight_packed_for_cpu`` in a few byte-wide passes (same output).

    Its standard layout holds two neighbours of a row in a byte (first in the high nibble).
    The CPU layout takes blocks of 32 rows: byte ``i`` of a (block, column pair) row holds
    row ``16 + i // 2`` in its high nibble and row ``i // 2`` in its low one, column ``i % 2``.
    """
    rows, cols = state.shape
    standard = weight.view(torch.uint8).reshape(rows // _BLOCK_N, 2, _BLOCK_N // 2, cols // 2)
    low_rows, high_rows = standard[:, 0], standard[:, 1]
    first = (high_rows & 0xF0) | (low_rows >> 4)
    second = (high_rows << 4) | (low_rows & 0x0F)
    packed = torch.stack([first, second], -1).permute(0, 2, 1, 3).reshape(rows, cols // 2)
    standard_state = copy.copy(state)  # its scales, kept: bitsandbytes' inverse re-quantizes them
    _mark_packed(state, weight)
    state.heron_standard = (standard_state, weight.shape, weight.dtype)
    return packed.contiguous(), state


def unpack_4bit(packed: torch.Tensor, state: QuantState) -> tuple[torch.Tensor, QuantState]:
    """``pack_4bit`` undone exactly: the standard bytes and the quant state it was given."""
    standard_state, shape, dtype = state.heron_standard
    rows, half = packed.shape
    pairs = packed.view(rows // _BLOCK_N, half, _BLOCK_N // 2, 2).permute(0, 2, 1, 3)
    first, second = pairs[..., 0], pairs[..., 1]
    high_rows = (first & 0xF0) | (second >> 4)
    low_rows = (first << 4) | (second & 0x0F)
    standard = torch.stack([low_rows, high_rows], 1).reshape(-1)
    return standard.view(dtype).reshape(shape).contiguous(), standard_state


def _mark_packed(state: QuantState, weight: torch.Tensor) -> None:
    """The quant state as bitsandbytes leaves it after packing, so that its inverse (saving, training) works."""
    if weight.dtype != torch.uint8:
        state.original_storage_type = weight.dtype
    state.original_dtype = state.dtype
    state.original_nested = state.nested
    state.original_qshape = weight.shape
    absmax = state.absmax
    if state.nested:
        absmax = dequantize_blockwise(state.absmax, state.state2) + state.offset
        state.nested = False
        del state.state2
    rows, cols = state.shape
    state.absmax = absmax.float().reshape(rows, cols // state.blocksize).T.to(torch.bfloat16).contiguous()
    state.dtype = torch.bfloat16
    state.packing_format_for_cpu = True


def dequantize_packed(packed: torch.Tensor, state: QuantState) -> torch.Tensor:
    """The bf16 weight (out, in) of a layer in bitsandbytes' CPU layout: a byte lookup and one reorder."""
    rows, half = packed.shape
    code = state.code.float()
    byte = torch.arange(256)
    table = torch.stack([code[byte & 0x0F], code[byte >> 4]], -1).to(torch.bfloat16)  # low, high nibble
    values = torch.index_select(table, 0, packed.reshape(-1).to(torch.int32))
    # (block, column pair, row in half-block, column in pair, half) -> (block, half, row, column pair, column)
    values = values.view(rows // _BLOCK_N, half, _BLOCK_N // 2, 2, 2).permute(0, 4, 2, 1, 3)
    weight = values.reshape(rows, half * 2)
    blocks = weight.view(rows, -1, state.blocksize)
    blocks.mul_(state.absmax.t().unsqueeze(-1))
    return weight


def is_packed(state: QuantState | None) -> bool:
    return bool(getattr(state, "packing_format_for_cpu", False))


def pack(layer: bnb.nn.Linear4bit) -> None:
    """Convert a 4-bit layer to the fused CPU kernel's layout now rather than on its first call."""
    if not is_packed(layer.weight.quant_state):
        layer.weight.data, layer.weight.quant_state = pack_4bit(layer.weight.data, layer.weight.quant_state)


def unpack(layer: bnb.nn.Linear4bit) -> None:
    """Back to bitsandbytes' standard layout, which its differentiable (training) path needs."""
    from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse

    state = layer.weight.quant_state
    if is_packed(state):
        inverse = unpack_4bit if hasattr(state, "heron_standard") else _convert_weight_packed_for_cpu_inverse
        layer.weight.data, layer.weight.quant_state = inverse(layer.weight.data, state)
        layer.quant_state = layer.weight.quant_state  # bitsandbytes keeps the layer's copy in step


def fast_forward_4bit(layer: bnb.nn.Linear4bit, x: torch.Tensor) -> torch.Tensor:
    """A Linear4bit's forward with the fast CPU kernels (bound to the layer by engine/model/fast_paths.py)."""
    if not inference_call(layer, x):
        unpack(layer)
        return bnb.nn.Linear4bit.forward(layer, x)
    if layer.support_avx512bf16_for_cpu:
        pack(layer)  # on the first answer, not at load: a model loaded to be trained keeps its layout
    if layer.heron_prefill_kernel == "dequant" and tokens_of(x) >= PREFILL_MIN_TOKENS:
        return _bf16_linear(x, dequantize_4bit(layer), layer.bias)
    return bnb.nn.Linear4bit.forward(layer, x)  # the fused kernel on the packed weight


def dequantize_4bit(layer: bnb.nn.Linear4bit) -> torch.Tensor:
    """The layer's bf16 weight, from whichever layout it is in."""
    weight, state = layer.weight.data, layer.weight.quant_state
    if is_packed(state):
        return dequantize_packed(weight, state)
    return bnb.functional.dequantize_4bit(weight, state).to(torch.bfloat16)


# --- 8 bits -------------------------------------------------------------------------------


def dequantize_int8(module: bnb.nn.Linear8bitLt) -> torch.Tensor:
    """The bf16 weight of an 8-bit layer: each row's int8 values times its scale / 127."""
    scales = module.state.SCB if module.state.SCB is not None else module.weight.SCB
    weight = module.weight.data.to(torch.bfloat16)
    return weight.mul_((scales.float() / 127).to(torch.bfloat16).unsqueeze(1))


def fast_forward_8bit(layer: bnb.nn.Linear8bitLt, x: torch.Tensor) -> torch.Tensor:
    """A Linear8bitLt's forward that prefills through a bf16 dequantized weight."""
    prefill = tokens_of(x) >= PREFILL_MIN_TOKENS and layer.heron_prefill_kernel == "dequant"
    if prefill and inference_call(layer, x):
        return _bf16_linear(x, dequantize_int8(layer), layer.bias)
    return bnb.nn.Linear8bitLt.forward(layer, x)


def _bf16_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    bias = bias.to(torch.bfloat16) if bias is not None else None
    return F.linear(x.to(torch.bfloat16), weight, bias).to(x.dtype)
