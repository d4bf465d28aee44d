"""Streaming generation: a conversation in, ``TextDelta``/``ThinkDelta`` events and ``Done`` out.

``model.generate`` runs in a worker thread and hands token ids to the caller's thread through
a queue; the caller's thread detokenises, splits reasoning from answer and yields events. A
cancel flag checked after every token stops generation; the caller does not wait for the
model to notice it (a long prefill cannot be interrupted) before it reports the cancel.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from engine.conversation import Conversation
from engine.errors import OutOfMemoryError, RequestError
from engine.events import Done, Event
from engine.requests import MAX_NEW_TOKENS_LIMIT
from engine.thinking import ThinkSplitter

if TYPE_CHECKING:
    from engine.model.loading import LoadedModel

_POLL_S = 0.02  # how often the caller's thread looks at the cancel flag


@dataclass(frozen=True)
class GenerationOptions:
    max_new_tokens: int = 512
    think: bool = False  # the model reasons inside <think>…</think> before answering

    def validate(self) -> None:
        if not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS_LIMIT:
            raise RequestError(
                f"The answer length (max new tokens) must be from 1 to {MAX_NEW_TOKENS_LIMIT}, not {self.max_new_tokens}."
            )


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
        self.out.put(("end", None))


class _CancelFlag(StoppingCriteria):
    def __init__(self, flag: threading.Event):
        self.flag = flag

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        return torch.full(
            (input_ids.shape[0],), self.flag.is_set(), dtype=torch.bool, device=input_ids.device
        )


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


def build_inputs(loaded: LoadedModel, conversation: Conversation) -> dict:
    """Tokenise the conversation and extract audio features, ready for ``generate``."""
    inputs = loaded.processor.apply_chat_template(
        conversation.to_messages(), tokenize=True, add_generation_prompt=True, return_dict=True
    )
    inputs = inputs.to(loaded.device)
    if "input_features" in inputs:
        inputs["input_features"] = inputs["input_features"].to(loaded.dtype)
    return inputs


def stream_answer(
    loaded: LoadedModel,
    conversation: Conversation,
    options: GenerationOptions,
    should_cancel: Callable[[], bool] = lambda: False,
) -> Iterator[Event]:
    """Answer the last turn of ``conversation``, streaming events; ends with ``Done``."""
    options.validate()
    started = time.perf_counter()
    inputs = build_inputs(loaded, conversation)
    prepared = time.perf_counter()
    tokens: queue.Queue = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(
        target=_generate, args=(loaded, inputs, options, tokens, stop), name="heron-generate", daemon=True
    )
    worker.start()
    decoder = IncrementalDecoder(loaded.processor.tokenizer)
    splitter = ThinkSplitter()
    first_token_at: float | None = None
    finish = "stop"
    try:
        while True:
            if should_cancel():
                stop.set()
                finish = "cancelled"
                break
            try:
                kind, payload = tokens.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if kind == "end":
                break
            if kind == "error":
                raise payload
            first_token_at = first_token_at or time.perf_counter()
            yield from splitter.feed(decoder.add(payload))
        yield from splitter.flush()
        if finish != "cancelled" and len(decoder.ids) >= options.max_new_tokens:
            finish = "length"
        ended = time.perf_counter()
        yield Done(_stats(inputs, conversation, decoder, started, prepared, first_token_at, ended, finish))
    finally:
        # Reached on cancel, error or an abandoned stream: the model must be idle before the next request.
        stop.set()
        worker.join()


def _generate(loaded: LoadedModel, inputs: dict, options: GenerationOptions, out: queue.Queue, stop) -> None:
    try:
        with torch.inference_mode():
            loaded.model.generate(
                **inputs,
                max_new_tokens=options.max_new_tokens,
                do_sample=False,
                streamer=_QueueStreamer(out),
                stopping_criteria=StoppingCriteriaList([_CancelFlag(stop)]),
                bad_words_ids=_audio_token_ids(loaded),
            )
    except torch.OutOfMemoryError:
        out.put(("error", OutOfMemoryError(_oom_message(inputs))))
    except Exception as exc:  # forwarded to the caller's thread, which owns error reporting
        out.put(("error", exc))
    finally:
        out.put(("end", None))


def _audio_token_ids(loaded: LoadedModel) -> list[list[int]]:
    """The model must never write audio placeholders into its answer."""
    processor = loaded.processor
    return [[processor.audio_token_id], [processor.audio_bos_token_id], [processor.audio_eos_token_id]]


def _oom_message(inputs: dict) -> str:
    prompt = int(inputs["input_ids"].shape[-1])
    return (
        f"Out of GPU memory while answering ({prompt} prompt tokens). Try a shorter recording, "
        "fewer --max-new-tokens, or a smaller --precision (nf4 uses the least)."
    )


def _stats(inputs, conversation, decoder, started, prepared, first_token_at, ended, finish) -> dict:
    new_tokens = len(decoder.ids)
    decode_s = ended - first_token_at if first_token_at else 0.0
    return {
        "finish": finish,
        "prompt_tokens": int(inputs["input_ids"].shape[-1]),
        "new_tokens": new_tokens,
        "audio_s": round(conversation.audio_seconds, 3),
        "prepare_s": round(prepared - started, 4),
        "ttft_s": round(first_token_at - started, 4) if first_token_at else None,
        "tokens_per_s": round((new_tokens - 1) / decode_s, 2) if new_tokens > 1 and decode_s > 0 else None,
        "total_s": round(ended - started, 4),
    }
