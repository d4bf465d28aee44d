"""Prefilled conversations kept for follow-up questions, bounded by bytes.

A context is the prompt of a conversation's last answered turn (system prompt, audio,
earlier turns, the question) with the KV cache that covers it. A follow-up whose earlier
turns match a context continues from it: only the previous answer and the new question are
prefilled. The context is taken out while in use (generation extends its cache in place).
The answer's own tokens are not kept: re-tokenising the answer text makes the follow-up's
tokens identical to those of the whole conversation tokenised afresh.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class TurnKey:
    """What identifies a finished turn: its question, its audio and its answer."""

    question: str
    audio: str | None
    answers: frozenset[str]  # the raw output and the answer without reasoning both match

    def matches(self, question: str, audio: str | None, answer: str | None) -> bool:
        return self.question == question and self.audio == audio and answer in self.answers


@dataclass
class CachedContext:
    """The prompt of the last answered turn, prefilled: everything before its answer."""

    turns: tuple[TurnKey, ...]  # the turns it stands for, the last one answered
    messages: list[dict]  # chat messages up to the last question, audio parts without samples
    token_ids: torch.Tensor  # (1, n): that prompt's token ids
    cache: Any  # KV cache covering token_ids exactly
    audio_s: float
    # (model folder, device, precision, adapter identity or None): a context computed with one adapter
    # active holds that adapter's keys and values, so it is only ever reused under the same key.
    model_key: tuple = field(default_factory=tuple)

    @property
    def nbytes(self) -> int:
        return cache_nbytes(self.cache)


def audio_key_of_samples(samples: np.ndarray | None) -> str | None:
    if samples is None:
        return None
    return "samples:" + hashlib.blake2b(np.ascontiguousarray(samples).tobytes(), digest_size=16).hexdigest()


def cache_nbytes(cache: Any) -> int:
    total = 0
    for layer in getattr(cache, "layers", []):
        for name in ("keys", "values"):
            tensor = getattr(layer, name, None)
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * tensor.element_size()
    return total


class ContextCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[int, CachedContext] = OrderedDict()
        self._next = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._items.values())

    def take(self, model_key: tuple, turns: list[tuple[str, str | None, str | None]]) -> CachedContext | None:
        """Remove and return the context whose turns are exactly ``turns`` (question, audio key, answer)."""
        for key, context in reversed(self._items.items()):
            if context.model_key == model_key and _same_turns(context.turns, turns):
                return self._items.pop(key)
        return None

    def put(self, context: CachedContext) -> None:
        if context.nbytes > self.max_bytes:
            return
        self._items[self._next] = context
        self._next += 1
        self.shrink_to(self.max_bytes)

    def shrink_to(self, max_bytes: int) -> None:
        """Drop least recently used contexts until at most ``max_bytes`` remain."""
        while self._items and self.nbytes > max_bytes:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def _same_turns(keys: tuple[TurnKey, ...], turns: list[tuple[str, str | None, str | None]]) -> bool:
    return len(keys) == len(turns) and all(k.matches(*t) for k, t in zip(keys, turns, strict=True))
