"""What a checkpoint's safetensors headers say, read without the tensor data: each tensor's
name, shape and dtype, whether a file is whole, and the bytes each tensor takes once loaded
at a precision (for the memory estimates in engine/model/fit.py)."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ModelError
from engine.files import FileRefusedError, open_regular
from engine.model.precision import COMPUTE_BYTES, QUANTIZED, compute_dtype_name

# bitsandbytes matches these from the start of a module name: the audio encoder, the
# projector and the output head stay in full precision (they are small and sensitive).
SKIP_MODULES = ["model.audio_tower", "model.multi_modal_projector", "lm_head"]


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str  # safetensors dtype name, e.g. "BF16"


_DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "BF16": 2,
    "F16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
_FLOAT_DTYPES = ("F64", "F32", "BF16", "F16")


def _safetensors_header(file: Path) -> tuple[dict[str, Any], int]:
    """The parsed header of a safetensors file and the size its tensor data must have."""
    try:
        with open_regular(file) as (f, _):  # a FIFO named *.safetensors must not hang the load
            (length,) = struct.unpack("<Q", f.read(8))
            if length > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(f.read(length))
        tensors = [info for name, info in header.items() if name != "__metadata__"]
        data_bytes = max((int(info["data_offsets"][1]) for info in tensors), default=0)
        return header, 8 + length + data_bytes
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error, FileRefusedError) as exc:
        raise ModelError(f"{file} is not a readable safetensors file: download the model again.") from exc


def read_safetensors_header(file: Path) -> Iterator[TensorInfo]:
    """Tensor names, shapes and dtypes from a safetensors header, without reading the data."""
    header, _ = _safetensors_header(file)
    for name, info in header.items():
        if name != "__metadata__":
            yield TensorInfo(name=name, shape=tuple(info["shape"]), dtype=info["dtype"])


def check_safetensors_file(file: Path) -> None:
    """A readable header and as many bytes as it announces: catches cut-off downloads."""
    _, expected = _safetensors_header(file)
    actual = file.stat().st_size
    if actual < expected:
        raise ModelError(
            f"{file} is cut short ({actual} of {expected} bytes): the download is incomplete; "
            "download the model again."
        )


def is_quantized_weight(name: str, shape: tuple[int, ...]) -> bool:
    """Whether bitsandbytes replaces this tensor's layer: 2-D Linear weights outside the skip list.

    Checkpoint keys may use the original layout (``language_model.lm_head.weight``,
    ``audio_tower.…``) that transformers renames on load, so match path components.
    """
    if len(shape) != 2 or not name.endswith(".weight") or "embed" in name:
        return False
    parts = name.split(".")
    return not any(s.rpartition(".")[2] in parts for s in SKIP_MODULES)


def tensor_bytes(tensor: TensorInfo, precision: str, device: str) -> float:
    numel = math.prod(tensor.shape)
    if precision in QUANTIZED and is_quantized_weight(tensor.name, tensor.shape):
        if precision == "nf4":
            # 4 bits a weight, an 8-bit absmax per 64 (double quant), fp32 scales per 256 blocks.
            return numel * (0.5 + 1 / 64 + 4 / (64 * 256))
        return numel + tensor.shape[0] * 4  # int8 weights plus one fp32 scale per row
    if tensor.dtype in _FLOAT_DTYPES:
        return numel * COMPUTE_BYTES[compute_dtype_name(precision, device)]
    return numel * _DTYPE_BYTES.get(tensor.dtype, 4)  # integer buffers keep their type


def estimate_tensors_bytes(tensors: Iterable[TensorInfo], precision: str, device: str = "cuda") -> int:
    return int(sum(tensor_bytes(t, precision, device) for t in tensors))


def stored_bytes(tensor: TensorInfo) -> int:
    """Bytes the tensor takes in the file."""
    return math.prod(tensor.shape) * _DTYPE_BYTES.get(tensor.dtype, 4)
