"""Streaming generation: a prompt in, ``TextDelta``/``ThinkDelta`` events and ``Done`` out.

``model.generate`` runs in a worker thread and hands token ids to the caller's thread through
a queue; the caller's thread detokenises, splits reasoning from answer and yields events. A
cancel flag checked after every token stops generation. The generator's return value (an
``Outcome``) carries the token ids and the KV cache, so a follow-up can continue from them.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from engine.errors import OutOfMemoryError, RequestError
from engine.events import Done, Event, Finish, TextDelta
from engine.inference.prompt import Prompt
from engine.reasoning.thinking import ThinkSplitter
from engine.requests import MAX_NEW_TOKENS_LIMIT

if TYPE_CHECKING:
    from engine.model.loading import LoadedModel

_POLL_S = 0.02  # how often the caller's thread looks at the cancel flag
# How a first turn decodes: "stock" (a dynamic KV cache, kept for follow-ups), "static" (a
# preallocated cache) or "compiled" (static, and the decode step compiled: CUDA graphs on a
# GPU). Static caches are sized for one answer, so they are not kept for follow-ups.
DECODE_ENV = "HERON_DECODE"
DECODE_PATHS = ("stock", "static", "compiled")


@dataclass(frozen=True)
class GenerationOptions:
    max_new_tokens: int = 512

    def validate(self) -> None:
        if not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS_LIMIT:
            raise RequestError(
                f"The answer length (max new tokens) must be from 1 to {MAX_NEW_TOKENS_LIMIT}, "
                f"not {self.max_new_tokens}."
            )


@dataclass
class Outcome:
    """What a finished generation leaves behind for the next turn."""

    cache: Any  # the KV cache after generation (prompt and answer), None if generation never ran
    raw_text: str  # everything generated, reasoning tags included
    answer_text: str  # the answer alone
    finish: str  # stop, length or cancelled


class _QueueStreamer(BaseStreamer):
    """Receives token ids from ``generate``; the first ``put`` is the prompt and is skipped."""

    def __init__(self, out: queue.Queue):
        self.out = out
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.out.put(("tokens", value.reshape(-1).tolist()))

    def end(self) -> None:
        pass  # the worker reports the end itself, with the result


class _CancelFlag(StoppingCriteria):
    def __init__(self, flag: threading.Event):
        self.flag = flag

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        stop = self.flag.is_set()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


class IncrementalDecoder:
    """Turns a growing list of token ids into text deltas, holding back incomplete UTF-8."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.text = ""

    def add(self, ids: list[int]) -> str:
        self.ids.extend(ids)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # a multi-byte character is still arriving
            return ""
        delta, self.text = text[len(self.text) :], text
        return delta


def stream_answer(
    loaded: LoadedModel,
    prompt: Prompt,
    options: GenerationOptions,
    should_cancel: Callable[[], bool] = lambda: False,
    asked_at: float | None = None,
) -> Generator[Event, None, Outcome]:
    """Generate from ``prompt``, streaming events; ends with ``Done`` and returns the ``Outcome``.

    ``asked_at`` (a ``time.perf_counter()`` reading) is when the question was asked, so that the
    time to first token includes preparing the audio and the prompt.
    """
    options.validate()
    started = asked_at or time.perf_counter()
    tokens: queue.Queue = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(
        target=_generate, args=(loaded, prompt, options, tokens, stop), name="heron-generate", daemon=True
    )
    worker.start()
    decoder = IncrementalDecoder(loaded.processor.tokenizer)
    splitter = ThinkSplitter()
    answer: list[str] = []
    first_token_at: float | None = None
    finish, result = Finish.STOP, None
    try:
        while True:
            if should_cancel():
                stop.set()
                finish = Finish.CANCELLED
                break
            try:
                kind, payload = tokens.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if kind == "end":
                result = payload
                break
            if kind == "error":
                raise payload
            first_token_at = first_token_at or time.perf_counter()
            for event in splitter.feed(decoder.add(payload)):
                answer.extend([event.text] if isinstance(event, TextDelta) else [])
                yield event
        for event in splitter.flush():
            answer.extend([event.text] if isinstance(event, TextDelta) else [])
            yield event
        if finish != Finish.CANCELLED and len(decoder.ids) >= options.max_new_tokens:
            finish = Finish.LENGTH
        ended = time.perf_counter()
        yield Done(_stats(prompt, decoder, started, first_token_at, ended, finish))
    finally:
        # Reached on cancel, error or an abandoned stream: the model must be idle before the next request.
        stop.set()
        worker.join()
    return Outcome(getattr(result, "cache", None), decoder.text, "".join(answer), finish)


def _generate(
    loaded: LoadedModel, prompt: Prompt, options: GenerationOptions, out: queue.Queue, stop
) -> None:
    result = None
    try:
        with torch.inference_mode():
            result = loaded.model.generate(
                **prompt.inputs,
                cache=prompt.cache,
                max_new_tokens=options.max_new_tokens,
                do_sample=False,
                streamer=_QueueStreamer(out),
                stopping_criteria=StoppingCriteriaList([_CancelFlag(stop)]),
                bad_words_ids=_audio_token_ids(loaded),
                return_dict_in_generate=True,
                **decode_settings(loaded, prompt),
            )
            if not _keeps_cache(result):
                result.cache = None  # sized for this answer: a follow-up prefills afresh
    except torch.OutOfMemoryError:
        out.put(("error", OutOfMemoryError(_oom_message(prompt))))
    except Exception as exc:  # forwarded to the caller's thread, which owns error reporting
        out.put(("error", exc))
    finally:
        out.put(("end", result))


def decode_path() -> str:
    value = os.environ.get(DECODE_ENV, "stock").strip().lower() or "stock"
    return value if value in DECODE_PATHS else "stock"


def decode_settings(loaded: LoadedModel, prompt: Prompt) -> dict[str, Any]:
    """``generate`` arguments for the chosen decode path; a follow-up (cached context) stays stock."""
    path = decode_path()
    if path == "stock" or prompt.cache is not None:
        return {}
    from transformers import CompileConfig

    settings: dict[str, Any] = {"cache_implementation": "static", "disable_compile": path != "compiled"}
    if path == "compiled" and not loaded.device.startswith("cuda"):
        config = CompileConfig(mode="default")  # CUDA graphs are for GPUs
        config._compile_all_devices = True  # transformers compiles on CUDA only unless told
        settings["compile_config"] = config
    return settings


def _keeps_cache(result) -> bool:
    from transformers import DynamicCache

    return result is None or getattr(result, "cache", None) is None or isinstance(result.cache, DynamicCache)


def _audio_token_ids(loaded: LoadedModel) -> list[list[int]]:
    """The model must never write audio placeholders into its answer."""
    processor = loaded.processor
    return [[processor.audio_token_id], [processor.audio_bos_token_id], [processor.audio_eos_token_id]]


def _oom_message(prompt: Prompt) -> str:
    tokens = int(prompt.inputs["input_ids"].shape[-1])
    return (
        f"Out of GPU memory while answering ({tokens} prompt tokens). Try a shorter recording, "
        "fewer --max-new-tokens, or a smaller --precision (nf4 uses the least)."
    )


def _stats(prompt: Prompt, decoder, started, first_token_at, ended, finish) -> dict:
    new_tokens = len(decoder.ids)
    decode_s = ended - first_token_at if first_token_at else 0.0
    return {
        "finish": finish,
        "prompt_tokens": int(prompt.inputs["input_ids"].shape[-1]),
        "reused_tokens": prompt.reused_tokens,
        "new_tokens": new_tokens,
        "audio_s": round(prompt.audio_s, 3),
        "ttft_s": round(first_token_at - started, 4) if first_token_at else None,
        "tokens_per_s": round((new_tokens - 1) / decode_s, 2) if new_tokens > 1 and decode_s > 0 else None,
        "total_s": round(ended - started, 4),
    }
