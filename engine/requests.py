"""What a caller asks of the engine process: plain data, picklable, no torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_NEW_TOKENS_LIMIT = 32768


@dataclass(frozen=True)
class TurnSpec:
    """One turn as the caller knows it; ``answer`` is None for the turn to be answered.

    Audio comes either as a file (``audio_path``) or, for a spoken question, as samples
    already captured (``audio``: float32 mono at 16 kHz).
    """

    question: str
    audio_path: str | None = None
    answer: str | None = None
    audio: Any = None  # numpy.ndarray; typed loosely so that this module needs no numpy


@dataclass(frozen=True)
class ModelChoice:
    model: str  # a registry name (instruct, think, captioner), a repo id or a local folder
    models_dir: str  # where downloaded models live (the app owns paths)
    precision: str | None = None  # None: the device's default
    device: str | None = None  # None: CUDA when present, else CPU
    adapter: str | None = None  # a trained adapter's folder (heron train --out); None: the base model
    cache_dir: str | None = None  # where the engine may keep quantized copies of models; None: nowhere


@dataclass(frozen=True)
class AskRequest:
    turns: tuple[TurnSpec, ...]  # the last one is answered
    model: ModelChoice
    max_new_tokens: int = 512
    think: bool = False


@dataclass(frozen=True)
class LoadRequest:
    """Load (or keep) a model without asking anything, e.g. when the app starts."""

    model: ModelChoice
