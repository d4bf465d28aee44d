"""Which precision and device fit this machine, decided in figures before anything loads.

A model needs its weights, the KV cache of the longest prompt it will hold, and a margin for
the runtime. ``choose`` takes the first (machine, precision) that fits, best first, and
refuses in one line with the figures and the ways out when none does. Everything here but
``cpu_machine`` and ``cuda_machine`` takes plain figures, so tests need no real machine.
No torch at import: the model manager decides with the published figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import OutOfMemoryError
from engine.model.precision import COMPUTE_BYTES, compute_dtype_name

GB = 1e9
AUDIO_TOKENS_PER_S = 25  # 750 audio tokens per 30 s window
TEXT_TOKENS = 2048  # the question, earlier answers and the new answer beside the audio
CPU_MARGIN = int(1.5 * GB)  # Python, torch, the processor, one step's activations
GPU_MARGIN = int(0.75 * GB)  # the CUDA context and activations …
GPU_MARGIN_SHARE = 0.1  # … or this share of the weights, if more
FP32_MAX_PARAMS = 1_000_000_000  # above this fp32 only doubles the memory: never for a 7B-class model
# Decoding reads every weight once a token, so memory bandwidth bounds its speed. Modest figures:
# two cores of a laptop-class CPU, a consumer GPU.
BANDWIDTH = {"cpu": 12 * GB, "cuda": 300 * GB}
CPU_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}  # x86 and Arm names in /proc/cpuinfo
WAY_OUT = (
    "close other programs, or run the model on a GPU machine with `heron serve` and connect with --server"
)

# AF-Next as published (8.27 B parameters: Qwen2.5-7B and AF-Whisper), for advice before a
# download: estimate_tensors_bytes of its shapes (tests hold the two together).
PUBLISHED_WEIGHTS = {
    "cpu": {"nf4": 10.35e9, "int8": 13.51e9, "bf16": 16.54e9, "fp32": 33.08e9},
    "cuda": {"nf4": 6.86e9, "int8": 10.02e9, "bf16": 16.54e9, "fp32": 33.08e9},
}
PUBLISHED_PARAMS = 8_270_000_000
PUBLISHED_TEXT_CONFIG = {"num_hidden_layers": 28, "num_key_value_heads": 4, "head_dim": 128}
PUBLISHED_MAX_AUDIO_S = 1800.0


@dataclass(frozen=True)
class ModelFigures:
    """What a checkpoint needs on one kind of device."""

    weights: dict[str, int]  # bytes the loaded weights take, per precision
    kv_values_per_token: int  # keys and values of one token over all layers
    params: int
    max_audio_s: float  # the most audio one prompt holds: what the processor keeps


@dataclass(frozen=True)
class Machine:
    device: str  # "cpu", "cuda" or "cuda:N"
    available: int | None  # free bytes (RAM's MemAvailable, the GPU's free memory); None: unknown
    bf16_native: bool  # bf16 arithmetic in hardware (AMX / AVX-512 BF16 CPUs, Ampere and newer GPUs)
    where: str = "RAM"  # what ``available`` counts, for messages

    @property
    def kind(self) -> str:
        return "cuda" if self.device.startswith("cuda") else "cpu"

    @property
    def label(self) -> str:
        return "GPU" if self.kind == "cuda" else "CPU"


@dataclass(frozen=True)
class Fit:
    precision: str
    device: str
    weights: int
    kv_cache: int
    margin: int
    audio_s: float  # the audio whose KV cache is counted
    available: int | None

    @property
    def needed(self) -> int:
        return self.weights + self.kv_cache + self.margin

    @property
    def fits(self) -> bool:
        return self.available is None or self.needed <= self.available

    @property
    def speed(self) -> str:
        return speed_class(self.weights, self.device)


def kv_values_per_token(text_config: dict) -> int:
    """Keys and values of one token over all layers, from a config's ``text_config``."""
    head_dim = text_config.get("head_dim") or text_config["hidden_size"] // text_config["num_attention_heads"]
    kv_heads = text_config.get("num_key_value_heads") or text_config["num_attention_heads"]
    return 2 * text_config["num_hidden_layers"] * kv_heads * head_dim


def published_figures(kind: str) -> ModelFigures:
    """AF-Next as published, on ``kind`` ("cpu" or "cuda"): for advice before a download."""
    weights = {p: int(b) for p, b in PUBLISHED_WEIGHTS[kind].items()}
    kv = kv_values_per_token(PUBLISHED_TEXT_CONFIG)
    return ModelFigures(weights, kv, PUBLISHED_PARAMS, PUBLISHED_MAX_AUDIO_S)


def preferred(model: ModelFigures, machine: Machine) -> list[str]:
    """Precisions to try, best first: the larger the more faithful, bf16 where hardware computes it."""
    order = ["bf16", "int8", "nf4"] if machine.bf16_native else ["int8", "nf4"]
    return ["fp32", *order] if model.params <= FP32_MAX_PARAMS else order


def assess(model: ModelFigures, machine: Machine, precision: str, audio_s: float | None = None) -> Fit:
    """What ``precision`` needs on ``machine`` for ``audio_s`` of audio (default: the longest prompt)."""
    audio_s = model.max_audio_s if audio_s is None else min(audio_s, model.max_audio_s)
    weights = model.weights[precision]
    tokens = int(audio_s * AUDIO_TOKENS_PER_S) + TEXT_TOKENS
    kv_cache = tokens * model.kv_values_per_token * _value_bytes(precision, machine)
    margin = max(GPU_MARGIN, int(GPU_MARGIN_SHARE * weights)) if machine.kind == "cuda" else CPU_MARGIN
    return Fit(precision, machine.device, weights, kv_cache, margin, audio_s, machine.available)


def choose(
    candidates: list[tuple[Machine, ModelFigures]], precision: str | None = None, audio_s: float | None = None
) -> Fit:
    """The first (machine, precision) that fits: machines in the order given, precisions best first,
    or only ``precision`` when one is asked for. Raises OutOfMemoryError when none fits."""
    for machine, model in candidates:
        for option in [precision] if precision else preferred(model, machine):
            fit = assess(model, machine, option, audio_s)
            if fit.fits:
                return fit
    raise OutOfMemoryError(refusal(candidates, precision, audio_s))


def refusal(
    candidates: list[tuple[Machine, ModelFigures]], precision: str | None, audio_s: float | None
) -> str:
    """One line: what the closest option needs on each machine, what is free, and the ways out."""
    clauses = []
    for machine, model in candidates:
        fit = assess(model, machine, precision or preferred(model, machine)[-1], audio_s)
        clauses.append(
            f"in {fit.precision} on the {machine.label} it needs about {_gb(fit.needed)} "
            f"({_gb(fit.weights)} of weights, {_gb(fit.kv_cache)} of KV cache for {_duration(fit.audio_s)} "
            f"of audio, {_gb(fit.margin)} for the runtime) but {_gb(fit.available)} of {machine.where} "
            "is available"
        )
    ways = [
        *_smaller_precision(candidates[0], precision, audio_s),
        *_shorter_audio(candidates[0], precision, audio_s),
    ]
    return f"The model does not fit in memory: {'; '.join(clauses)}. {_capital(', '.join([*ways, WAY_OUT]))}."


def _smaller_precision(candidate: tuple[Machine, ModelFigures], precision: str | None, audio_s) -> list[str]:
    machine, model = candidate
    if precision is None:
        return []
    order = preferred(model, machine)
    smaller = order[order.index(precision) + 1 :] if precision in order else order
    fits = [fit for p in smaller if (fit := assess(model, machine, p, audio_s)).fits]
    return [f"use --precision {fits[0].precision} (about {_gb(fits[0].needed)})"] if fits else []


def _shorter_audio(candidate: tuple[Machine, ModelFigures], precision: str | None, audio_s) -> list[str]:
    """When the audio of the request is known and less of it would fit: how much."""
    machine, model = candidate
    if audio_s is None:
        return []
    silent = assess(model, machine, precision or preferred(model, machine)[-1], 0.0)
    per_second = AUDIO_TOKENS_PER_S * model.kv_values_per_token * _value_bytes(silent.precision, machine)
    minutes = int((machine.available - silent.needed) / per_second // 60)
    return [f"ask about at most {minutes} min of audio at a time"] if minutes >= 1 else []


def speed_class(weight_bytes: int, device: str) -> str:
    """How fast answers come, from the bytes each decoded token reads."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    tokens_per_s = BANDWIDTH[kind] / max(weight_bytes, 1)
    if tokens_per_s >= 10:
        return f"fast on this {'GPU' if kind == 'cuda' else 'CPU'}"
    if tokens_per_s >= 2:
        return "usable: a few tokens a second"
    return "slow: under two tokens a second"


def _value_bytes(precision: str, machine: Machine) -> int:
    return COMPUTE_BYTES[compute_dtype_name(precision, machine.device)]


def _gb(value: float) -> str:
    return f"{value / GB:.1f} GB"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- the machine at hand ----------------------------------------------------------------------


def cpu_machine() -> Machine:
    return Machine("cpu", available_ram(), cpu_has_bf16(), "RAM")


def cuda_machine(device: str) -> Machine:
    """The GPU ``device`` names ("cuda" or "cuda:N"): its free memory now, and whether it has bf16."""
    import torch

    index = torch.device(device).index
    index = torch.cuda.current_device() if index is None else index
    free, _ = torch.cuda.mem_get_info(index)
    bf16 = torch.cuda.get_device_capability(index) >= (8, 0)  # Ampere and newer
    return Machine(device, int(free), bf16, f"GPU memory on {torch.cuda.get_device_name(index)}")


def available_ram() -> int | None:
    """MemAvailable (Linux), else psutil's figure when psutil is installed; None when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bf16 in hardware (Linux's /proc/cpuinfo flags; False where unknown)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return bool(CPU_BF16_FLAGS & set(text.split()))
