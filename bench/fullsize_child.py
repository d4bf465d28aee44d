"""One path of bench/fullsize.py in its own process: load, answer 30 s of audio, report.

Run by bench/fullsize.py (``--child NAME --phase full|load``); writes ``NAME-PHASE.json`` and,
for the full phase, ``NAME-logits.pt`` (last-token logits on a fixed text prompt) into ``--out``.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "assets" / "sample-meeting.ogg"
CLIP_S = 30
LONG_S = 1800  # the 30-minute prefill on CUDA
FLOOR_BYTES = 700 * 2**20  # the parent's watchdog stops a child when less than this is available
NEEDS_GB = {"bf16": 17.5, "int8": 11.5, "nf4": 8.0}  # what a path needs available to start (CPU)
FIXED_QUESTION = "Describe the recording in one sentence, then list every sound you can hear in it."

_FAST = {"HERON_QUANT_PATH": "fast"}
PATHS = {
    "bf16": {"precision": "bf16", "env": {}},
    "nf4-stock": {"precision": "nf4", "env": {"HERON_QUANT_PATH": "stock"}},
    "nf4-fused": {"precision": "nf4", "env": {**_FAST, "HERON_PREFILL_KERNEL": "fused"}},
    "nf4-dequant": {"precision": "nf4", "env": {**_FAST, "HERON_PREFILL_KERNEL": "dequant"}},
    "int8-stock": {"precision": "int8", "env": {"HERON_QUANT_PATH": "stock"}},
    "int8-fast": {"precision": "int8", "env": {**_FAST, "HERON_PREFILL_KERNEL": "dequant"}},
    "bf16-compiled": {"precision": "bf16", "env": {"HERON_DECODE": "compiled"}},
    "nf4-compiled": {"precision": "nf4", "env": {"HERON_DECODE": "compiled"}},
}


def available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def claim_memory(precision: str, patience_s: float) -> str | None:
    """Under the lock: wait for enough available memory, then cap this process's heap below it."""
    deadline = time.monotonic() + patience_s
    while available_bytes() < NEEDS_GB[precision] * 1e9:
        if time.monotonic() > deadline:
            return f"skipped: under {NEEDS_GB[precision]} GB available for {patience_s:.0f} s"
        time.sleep(5)
    cap = available_bytes() - FLOOR_BYTES
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))  # an allocation past it fails, no OOM kill
    return None


def child_main(args) -> int:
    os.environ.update(PATHS[args.child]["env"])
    if args.device == "cpu" and (why := claim_memory(PATHS[args.child]["precision"], args.patience)):
        (args.out / f"{args.child}-{args.phase}.error").write_text(why)
        return 1
    from engine.model.loading import load_model

    started = time.perf_counter()
    loaded = load_model(
        args.checkpoint, PATHS[args.child]["precision"], args.device, cache_dir=cache_dir(args)
    )
    result = {
        "load_s": round(time.perf_counter() - started, 1),
        "source": getattr(loaded, "source", None),
        "kernels": getattr(loaded.model, "heron_quant_path", "stock"),
    }
    if args.phase == "full":
        result.update(answer_clip(loaded, args.max_new_tokens, CLIP_S))
        # The first answer includes one-time work (4-bit layers packed for the CPU kernel): ask again.
        result["ttft_again_s"] = answer_clip(loaded, 1, CLIP_S)["ttft_s"]
        result.update(check_logits(loaded, args.out / f"{args.child}-logits.pt"))
        if args.device == "cuda":
            result["ttft_30min_s"] = answer_clip(loaded, 2, LONG_S)["ttft_s"]
    result["peak_gb"] = round(peak_bytes(args.device) / 1e9, 2)
    (args.out / f"{args.child}-{args.phase}.json").write_text(json.dumps(result))
    return 0


def cache_dir(args) -> Path:
    return args.checkpoint.parent / (args.checkpoint.name + "-quantized")


def clip(seconds: int):
    import numpy as np

    from engine.audio import SAMPLE_RATE
    from engine.audio.decode import decode_audio

    samples = decode_audio(CLIP)
    repeats = -(-seconds * SAMPLE_RATE // len(samples))
    return np.tile(samples, repeats)[: seconds * SAMPLE_RATE]


def answer_clip(loaded, max_new_tokens: int, seconds: int) -> dict:
    """Time to first token (features and prompt included) and decode speed of one answer."""
    from engine.events import Done
    from engine.inference.contexts import cache_nbytes
    from engine.inference.conversation import Conversation
    from engine.inference.generation import GenerationOptions, stream_answer
    from engine.inference.prompt import full_prompt

    samples = clip(seconds)
    conversation = Conversation()
    conversation.ask("What happens in this recording?", samples)
    asked = time.perf_counter()
    prompt = full_prompt(loaded, conversation)
    stream = stream_answer(loaded, prompt, GenerationOptions(max_new_tokens), asked_at=asked)
    stats, outcome = {}, None
    while True:
        try:
            event = next(stream)
        except StopIteration as stop:
            outcome = stop.value
            break
        if isinstance(event, Done):
            stats = event.stats
    kv = cache_nbytes(outcome.cache) if outcome else 0
    return {
        "ttft_s": stats.get("ttft_s"),
        "decode_tok_s": stats.get("tokens_per_s"),
        "prompt_tokens": stats.get("prompt_tokens"),
        "new_tokens": stats.get("new_tokens"),
        "bytes_per_token": weight_bytes_per_token(loaded.model) + kv,
    }


def weight_bytes_per_token(model) -> int:
    """Bytes of weights one decoded token reads: the language model's layers and the output head."""
    total = 0
    for part in (model.model.language_model.layers, model.model.language_model.norm, model.lm_head):
        for module in part.modules():
            for tensor in [*module.parameters(recurse=False), *module.buffers(recurse=False)]:
                total += tensor.numel() * tensor.element_size()
            state = getattr(getattr(module, "weight", None), "quant_state", None)
            total += sum(t.numel() * t.element_size() for t in _state_tensors(state))
    return total


def _state_tensors(state) -> list:
    if state is None:
        return []
    tensors = [state.absmax]
    if getattr(state, "nested", False):
        tensors.append(state.state2.absmax)
    return tensors


def last_logits(loaded):
    import torch

    from engine.inference.conversation import Conversation
    from engine.inference.prompt import full_prompt

    conversation = Conversation()
    conversation.ask(FIXED_QUESTION)
    prompt = full_prompt(loaded, conversation)
    with torch.inference_mode():
        return loaded.model(**prompt.inputs, logits_to_keep=1).logits[0, -1].float().cpu()


def check_logits(loaded, file: Path) -> dict:
    """Save this path's logits; for a dequantizing fast path, compare with its fused/stock kernels."""
    import torch

    logits = last_logits(loaded)
    torch.save(logits, file)
    layers = [m for m in loaded.model.modules() if getattr(m, "heron_prefill_kernel", None) == "dequant"]
    if not layers:
        return {}
    for layer in layers:
        layer.heron_prefill_kernel = "fused"
    reference = last_logits(loaded)
    for layer in layers:
        layer.heron_prefill_kernel = "dequant"
    cos = torch.nn.functional.cosine_similarity(logits, reference, dim=0)
    return {
        "vs_stock": {
            "max_abs": round(float((logits - reference).abs().max()), 4),
            "cos": round(float(cos), 5),
        }
    }


def peak_bytes(device: str) -> int:
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
