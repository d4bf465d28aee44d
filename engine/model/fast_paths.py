"""Which kernels a loaded model's quantized layers run: the fast paths, one setting away from stock.

``HERON_QUANT_PATH`` picks the path: ``fast`` (the default) or ``stock`` (bitsandbytes as it
is). On the CPU the fast path gives bitsandbytes' layers the forward of
engine/model/cpu_kernels.py (their type stays bitsandbytes'): 4-bit weights packed for the
fused CPU kernel 4× faster than bitsandbytes packs them, a prefill kernel per precision
(``HERON_PREFILL_KERNEL``: ``fused`` or ``dequant``; unset, the one measured fastest for the
CPU at hand: ``dequant`` where the CPU has AMX, whose bf16 matrix products outrun the fused
kernel, else ``fused`` for 4 bits; 8 bits always dequantize). Decoding a token keeps
bitsandbytes' own kernels, which read each weight once. On CUDA, bitsandbytes 0.50 already
prefills through dequantize-then-GEMM (above 1536 tokens) and decodes with its fused kernels:
the path stays stock there.

``install`` is called once a model is built (engine/model/loading.py); training keeps working
on those layers, which hand training calls to bitsandbytes unchanged.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

PATH_ENV = "HERON_QUANT_PATH"
PREFILL_ENV = "HERON_PREFILL_KERNEL"
PATHS = ("fast", "stock")

log = logging.getLogger(__name__)


def chosen_path() -> str:
    value = os.environ.get(PATH_ENV, "fast").strip().lower() or "fast"
    if value not in PATHS:
        log.warning("%s=%s is not one of %s: using fast", PATH_ENV, value, ", ".join(PATHS))
        return "fast"
    return value


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        flags = next((line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return False
    return "amx_bf16" in flags.split()


def prefill_kernel(precision: str) -> str:
    from engine.model.cpu_kernels import PREFILL_KERNELS

    wanted = os.environ.get(PREFILL_ENV, "").strip().lower()
    if wanted in PREFILL_KERNELS:
        return wanted
    if wanted:
        log.warning(
            "%s=%s is not one of %s: choosing by CPU", PREFILL_ENV, wanted, ", ".join(PREFILL_KERNELS)
        )
    return "dequant" if precision == "int8" or cpu_has_amx() else "fused"


def install(model: Any, precision: str, device: str) -> str:
    """Put the chosen path's layers into ``model``; return the path's name (recorded on the model)."""
    name = "stock"
    if precision in ("nf4", "int8") and device == "cpu" and chosen_path() == "fast":
        name = _install_cpu(model, precision)
    model.heron_quant_path = name
    return name


def _install_cpu(model: Any, precision: str) -> str:
    import types

    import bitsandbytes as bnb

    from engine.model import cpu_kernels

    kernel = prefill_kernel(precision)
    started, swapped = time.perf_counter(), 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.forward = types.MethodType(cpu_kernels.fast_forward_4bit, module)
        elif isinstance(module, bnb.nn.Linear8bitLt):
            module.forward = types.MethodType(cpu_kernels.fast_forward_8bit, module)
        else:
            continue
        module.heron_prefill_kernel = kernel
        swapped += 1
    log.info("fast %s path: %d layers, prefill %s, in %.1f s", precision, swapped, kernel,
             time.perf_counter() - started)  # fmt: skip
    return f"fast-{kernel}"
