"""The precisions a model loads at, by name; no torch here, so the UI and the CLI can offer them."""

from functools import cache
from pathlib import Path

QUANTIZED = ("nf4", "int8")  # 4 and 8 bits, through bitsandbytes
UNQUANTIZED = ("bf16", "fp32")
PRECISIONS = (*QUANTIZED, *UNQUANTIZED)  # smallest weights first: loading suggests the one before
LABELS = {"nf4": "nf4 (4-bit)", "int8": "int8", "bf16": "bf16", "fp32": "fp32"}
COMPUTE_BYTES = {"bf16": 2, "fp32": 4}  # bytes a value of each compute dtype takes
CPU_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}  # x86 and Arm names in /proc/cpuinfo


def compute_dtype_name(precision: str, device: str, bf16_native: bool | None = None) -> str:
    """The dtype of the unquantized parts (and of the KV cache): ``bf16`` or ``fp32``.

    A quantized model computes in bf16 on a GPU and on a CPU that has bf16 arithmetic
    (``bf16_native``; None: this machine's CPU): its output layer, embeddings and audio encoder
    then take half the memory, and decoding a token reads a fifth fewer bytes. Other CPUs
    emulate bf16 slowly: fp32 there.
    """
    if precision not in QUANTIZED:
        return precision
    if device.startswith("cuda"):
        return "bf16"
    native = cpu_has_bf16() if bf16_native is None else bf16_native
    return "bf16" if native else "fp32"


@cache
def cpu_has_bf16() -> bool:
    """Whether the CPU computes bf16 in hardware (Linux's /proc/cpuinfo flags; False where unknown)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return bool(CPU_BF16_FLAGS & set(text.split()))
