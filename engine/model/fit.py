"""Which precision and device fit this machine, decided in figures before anything loads.

A model needs its weights and a margin for the runtime, and on top of them the larger of two
things: while loading, the streamed quantization's transient tensors (``LOAD_SPIKE``); once
loaded, the KV cache and the prefill's activations of the longest prompt it will hold.
``choose`` takes the first (machine, precision) that fits the model's whole window, best
first. Where none does, it shortens the window (longer recordings are then answered window
by window) rather than refuse; it refuses in one line, with the figures and the ways out,
only when not even one 30 s window fits. Everything here but ``cpu_machine`` and
``cuda_machine`` takes plain figures, so tests need no real machine. No torch at import: the
model manager decides with the published figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import OutOfMemoryError
from engine.model.precision import COMPUTE_BYTES, QUANTIZED, compute_dtype_name, cpu_has_bf16

GB = 1e9
AUDIO_TOKENS_PER_S = 25  # 750 audio tokens per 30 s window
TEXT_TOKENS = 2048  # the question, earlier answers and the new answer beside the audio
CPU_MARGIN = int(1.5 * GB)  # Python, torch, the processor, one step's activations
GPU_MARGIN = int(0.75 * GB)  # the CUDA context and activations …
GPU_MARGIN_SHARE = 0.1  # … or this share of the weights, if more
# The streamed quantized load (engine/model/streamed_load.py) peaks above the loaded weights by
# the tensor being converted, read as stored beside its converted copy: about twice the largest
# tensor as stored, and at most this much (the full-size nf4 load on a CPU: 1.0 GB above its
# footprint and the interpreter's own memory).
LOAD_SPIKE = int(1.5 * GB)
# A prefill holds about four MLP-wide rows of activations per prompt token at its peak (measured
# on Qwen2 layers: the gate, up and product rows and the attention's): for 30 minutes of audio
# on the full-size model, 14 GB in fp32.
PREFILL_ROWS = 4
WINDOW_S = 30.0  # the processor's window: a shortened window is a whole number of them
GOOD_WINDOW_S = 600.0  # a larger precision holding 10 min at a time beats a smaller one holding more
FP32_MAX_PARAMS = 1_000_000_000  # above this fp32 only doubles the memory: never for a 7B-class model
# Decoding reads every weight once a token, so memory bandwidth bounds its speed. Modest figures:
# two cores of a laptop-class CPU, a consumer GPU.
BANDWIDTH = {"cpu": 12 * GB, "cuda": 300 * GB}
WAY_OUT = (
    "close other programs, or run the model on a GPU machine with `heron serve` and connect with --server"
)

# AF-Next as published (8.27 B parameters: Qwen2.5-7B and AF-Whisper), for advice before a
# download: estimate_tensors_bytes of its shapes (tests hold the two together).
# By the dtype of a quantized model's unquantized parts (engine/model/precision.py).
PUBLISHED_WEIGHTS = {
    "bf16": {"nf4": 6.86e9, "int8": 10.02e9, "bf16": 16.54e9, "fp32": 33.08e9},
    "fp32": {"nf4": 10.35e9, "int8": 13.51e9, "bf16": 16.54e9, "fp32": 33.08e9},
}
PUBLISHED_PARAMS = 8_270_000_000
PUBLISHED_TEXT_CONFIG = {
    "num_hidden_layers": 28, "num_key_value_heads": 4, "head_dim": 128, "intermediate_size": 18944,
}  # fmt: skip
PUBLISHED_MAX_AUDIO_S = 1800.0
PUBLISHED_LARGEST_TENSOR = 152064 * 3584 * 2  # the token embedding (and the output head) in bf16


@dataclass(frozen=True)
class ModelFigures:
    """What a checkpoint needs on one kind of device."""

    weights: dict[str, int]  # bytes the loaded weights take, per precision
    kv_values_per_token: int  # keys and values of one token over all layers
    params: int
    max_audio_s: float  # the most audio one prompt holds: what the processor keeps
    prefill_values_per_token: int = 0  # activations a prefill holds per prompt token at its peak
    largest_tensor: int = 0  # bytes of the largest tensor as stored; 0: unknown (LOAD_SPIKE counted)


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
    audio_s: float  # the audio whose KV cache is counted: the window the engine will use
    available: int | None
    activations: int = 0  # the prefill's peak for ``audio_s`` of audio
    load_spike: int = 0  # the quantizing load's peak above the weights
    max_audio_s: float = 0.0  # the model's own window: more than ``audio_s`` when it was shortened

    @property
    def needed(self) -> int:
        return self.weights + self.margin + max(self.load_spike, self.kv_cache + self.activations)

    @property
    def shortened(self) -> bool:
        """Chosen for any request, with a window shorter than the model's own (see ``choose``)."""
        return self.audio_s < self.max_audio_s

    @property
    def note(self) -> str:
        """What a shortened window means for the user; empty when the whole window fits."""
        if not self.shortened:
            return ""
        return (
            f"Memory holds {_duration(self.audio_s)} of audio at a time in {self.precision} on the "
            f"{'GPU' if self.device.startswith('cuda') else 'CPU'}: longer recordings are answered "
            f"{_duration(self.audio_s)} at a time."
        )

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


def prefill_values_per_token(text_config: dict) -> int:
    """Activations a prefill holds per prompt token at its peak, from a config's ``text_config``."""
    return PREFILL_ROWS * text_config["intermediate_size"]


def published_figures(kind: str, bf16_native: bool | None = None) -> ModelFigures:
    """AF-Next as published, on ``kind`` ("cpu" or "cuda"; ``bf16_native`` as for
    ``compute_dtype_name``): for advice before a download."""
    parts = compute_dtype_name(QUANTIZED[0], kind, bf16_native)
    weights = {p: int(b) for p, b in PUBLISHED_WEIGHTS[parts].items()}
    kv = kv_values_per_token(PUBLISHED_TEXT_CONFIG)
    prefill = prefill_values_per_token(PUBLISHED_TEXT_CONFIG)
    return ModelFigures(
        weights, kv, PUBLISHED_PARAMS, PUBLISHED_MAX_AUDIO_S, prefill, PUBLISHED_LARGEST_TENSOR
    )


def preferred(model: ModelFigures, machine: Machine) -> list[str]:
    """Precisions to try, best first: the larger the more faithful, bf16 where hardware computes it."""
    order = ["bf16", "int8", "nf4"] if machine.bf16_native else ["int8", "nf4"]
    return ["fp32", *order] if model.params <= FP32_MAX_PARAMS else order


def assess(model: ModelFigures, machine: Machine, precision: str, audio_s: float | None = None) -> Fit:
    """What ``precision`` needs on ``machine`` for ``audio_s`` of audio (default: the longest prompt)."""
    audio_s = model.max_audio_s if audio_s is None else min(audio_s, model.max_audio_s)
    weights = model.weights[precision]
    tokens = int(audio_s * AUDIO_TOKENS_PER_S) + TEXT_TOKENS
    value_bytes = _value_bytes(precision, machine)
    kv_cache = tokens * model.kv_values_per_token * value_bytes
    activations = tokens * model.prefill_values_per_token * value_bytes
    margin = max(GPU_MARGIN, int(GPU_MARGIN_SHARE * weights)) if machine.kind == "cuda" else CPU_MARGIN
    spike = min(LOAD_SPIKE, 2 * model.largest_tensor or LOAD_SPIKE) if precision in QUANTIZED else 0
    return Fit(precision, machine.device, weights, kv_cache, margin, audio_s, machine.available,
               activations, spike, model.max_audio_s)  # fmt: skip


def longest_window(model: ModelFigures, machine: Machine, precision: str) -> float | None:
    """The most audio (whole 30 s windows, up to the model's own window) that ``precision`` holds
    on ``machine``; None when not even one window fits."""
    whole = assess(model, machine, precision)
    if whole.fits:
        return whole.audio_s
    if not assess(model, machine, precision, WINDOW_S).fits:
        return None
    per_token = (model.kv_values_per_token + model.prefill_values_per_token) * _value_bytes(
        precision, machine
    )
    tokens = (machine.available - whole.weights - whole.margin) // per_token - TEXT_TOKENS
    return WINDOW_S * max(1, int(tokens / AUDIO_TOKENS_PER_S // WINDOW_S))


def choose(
    candidates: list[tuple[Machine, ModelFigures]], precision: str | None = None, audio_s: float | None = None
) -> Fit:
    """The first (machine, precision) that fits: machines in the order given, precisions best first,
    or only ``precision`` when one is asked for. ``audio_s`` known: the first that holds it. Else
    (loading for any request), on the first machine where anything fits, the first precision that
    holds the model's whole window or at least ``GOOD_WINDOW_S`` of it, else the one holding the
    most; the engine then answers longer recordings window by window. Raises OutOfMemoryError
    when none fits."""
    for machine, model in candidates:
        options = [precision] if precision else preferred(model, machine)
        if audio_s is not None:
            fits = [f for option in options if (f := assess(model, machine, option, audio_s)).fits]
            if fits:
                return fits[0]
            continue
        windows = [(w, option) for option in options if (w := longest_window(model, machine, option))]
        if windows:
            good = [entry for entry in windows if entry[0] >= min(GOOD_WINDOW_S, model.max_audio_s)]
            window, option = good[0] if good else max(windows, key=lambda entry: entry[0])
            return assess(model, machine, option, window)
    raise OutOfMemoryError(refusal(candidates, precision, audio_s))


def refusal(
    candidates: list[tuple[Machine, ModelFigures]], precision: str | None, audio_s: float | None
) -> str:
    """One line: what the closest option needs on each machine (for the least audio it could be
    given: one window, or the request's), what is free, what does fit, and the ways out."""
    clauses = []
    for machine, model in candidates:
        fit = assess(model, machine, precision or preferred(model, machine)[-1], audio_s or WINDOW_S)
        clauses.append(f"in {fit.precision} on the {machine.label} it needs about {_gb(fit.needed)} "
                       f"({_parts(fit)}) but {_gb(fit.available)} of {machine.where} is available")  # fmt: skip
    ways = [
        *_smaller_precision(candidates[0], precision, audio_s),
        *_shorter_audio(candidates[0], precision, audio_s),
    ]
    return f"The model does not fit in memory: {'; '.join(clauses)}. {_capital(', '.join([*ways, WAY_OUT]))}."


def _parts(fit: Fit) -> str:
    """What makes up ``fit.needed``, in words."""
    prompt = fit.kv_cache + fit.activations
    middle = (f"{_gb(prompt)} of KV cache and prefill for {_duration(fit.audio_s)} of audio"
              if prompt >= fit.load_spike else f"{_gb(fit.load_spike)} to quantize while loading")  # fmt: skip
    return f"{_gb(fit.weights)} of weights, {middle}, {_gb(fit.margin)} for the runtime"


def _smaller_precision(candidate: tuple[Machine, ModelFigures], precision: str | None, audio_s) -> list[str]:
    """When a precision was asked for: the next smaller one that fits, and how much audio it holds."""
    machine, model = candidate
    if precision is None:
        return []
    order = preferred(model, machine)
    for smaller in order[order.index(precision) + 1 :] if precision in order else order:
        if audio_s is not None and (fit := assess(model, machine, smaller, audio_s)).fits:
            return [f"use --precision {smaller} (about {_gb(fit.needed)})"]
        if audio_s is None and (window := longest_window(model, machine, smaller)):
            return [f"use --precision {smaller} (it fits recordings of up to {_duration(window)} at a time)"]
    return []


def _shorter_audio(candidate: tuple[Machine, ModelFigures], precision: str | None, audio_s) -> list[str]:
    """When the audio of the request is known and less of it would fit: how much."""
    machine, model = candidate
    if audio_s is None:
        return []
    window = longest_window(model, machine, precision or preferred(model, machine)[-1])
    return [f"ask about at most {_duration(window)} of audio at a time"] if window else []


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
    return COMPUTE_BYTES[compute_dtype_name(precision, machine.device, machine.bf16_native)]


def _gb(value: float) -> str:
    return f"{value / GB:.1f} GB"


def _duration(seconds: float) -> str:
    return f"{round(seconds / 60, 1):g} min" if seconds >= 60 else f"{seconds:.0f} s"


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
