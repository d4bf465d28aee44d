"""The trainer's events, in the shared vocabulary of engine/events.py.

Registered into ``engine.events.EVENT_TYPES`` on import, so ``event_from_dict`` rebuilds
them. Training also yields the shared ``Progress`` (stages ``validate``, ``load_model``,
``audio_features``) and ends with the shared ``Done`` whose stats hold the final metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.events import EVENT_TYPES, Event


@dataclass(frozen=True)
class TrainStart(Event):
    """Training is about to take its first step (or its first step after ``resumed_step``)."""

    type: ClassVar[str] = "train_start"
    total_steps: int
    train_examples: int
    eval_examples: int
    trainable_params: int
    resumed_step: int = 0


@dataclass(frozen=True)
class TrainProgress(Event):
    """One optimizer step done. ``eval_loss`` is the latest evaluation's (None before the first)."""

    type: ClassVar[str] = "train_progress"
    step: int
    total_steps: int
    loss: float
    eval_loss: float | None
    learning_rate: float
    examples_per_s: float
    seconds_left: float | None
    epoch: float


@dataclass(frozen=True)
class TrainEval(Event):
    """An evaluation on the held-out split; ``patience_left`` is None when early stopping is off.

    ``exact_match``: the share of held-out examples whose answer greedy decoding would write
    exactly (measured with the reference answer as context, so at the cost of one forward pass).
    """

    type: ClassVar[str] = "train_eval"
    step: int
    eval_loss: float
    best_eval_loss: float
    improved: bool
    patience_left: int | None = None
    exact_match: float | None = None


@dataclass(frozen=True)
class CheckpointSaved(Event):
    """A resumable checkpoint was written (atomically) at ``path``."""

    type: ClassVar[str] = "checkpoint"
    step: int
    path: str


TRAIN_EVENTS: tuple[type[Event], ...] = (TrainStart, TrainProgress, TrainEval, CheckpointSaved)
for _cls in TRAIN_EVENTS:
    EVENT_TYPES[_cls.type] = _cls
