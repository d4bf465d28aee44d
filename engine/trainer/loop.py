"""The training loop: ``train(config)`` yields events from the first check to the saved adapter.

One optimizer step takes ``batch_size × grad_accum`` examples from a data order that is a
fresh seeded permutation every epoch; the loss of a step is the mean over all of its
labelled tokens (not a mean of per-batch means), so accumulation gives the gradient of one
big batch. The learning rate warms up, then follows the schedule. Every ``eval_every``
steps the held-out loss is measured; with ``early_stop_patience`` the run stops after that
many evaluations without improvement, and the adapter saved is the best one evaluated.
Every ``checkpoint_every`` steps (and on cancel) a checkpoint holds all that the next step
depends on, so a run killed at any moment resumes from it and goes on exactly as if never
stopped.
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.events import Done, Event, Finish
from engine.trainer import checkpoint as ckpt
from engine.trainer.adapters import base_model_metadata, save_adapter
from engine.trainer.collate import Batch, collate
from engine.trainer.dataset import Example
from engine.trainer.events import CheckpointSaved, TrainEval, TrainProgress, TrainStart
from engine.trainer.forward import loss_and_exact, loss_sum
from engine.trainer.lora import count_parameters, set_trainable_state, trainable_parameters, trainable_state
from engine.trainer.schedule import make_scheduler
from engine.trainer.session import Cancelled, Session, prepare

_EMA = 0.1  # weight of the newest step in the smoothed step time


@dataclass
class TrainState:
    """The loop's own position and memory; all of it goes into a checkpoint."""

    step: int = 0
    consumed: int = 0  # examples taken from the data order so far, across epochs
    last_eval_loss: float | None = None
    last_eval_exact: float | None = None
    best_eval_loss: float | None = None
    best_step: int = 0
    evals_since_best: int = 0
    last_loss: float | None = None
    train_seconds: float = 0.0


def total_steps(config, train_examples: int) -> int:
    if config.max_steps:
        return config.max_steps
    per_step = config.batch_size * config.grad_accum
    return max(1, math.ceil(config.epochs * train_examples / per_step))


@functools.lru_cache(maxsize=4)
def data_order(seed: int, epoch: int, n: int) -> tuple[int, ...]:
    """Epoch ``epoch``'s order of the ``n`` training examples: a permutation fixed by the seed."""
    return tuple(np.random.default_rng([seed, epoch]).permutation(n).tolist())


def take(train: list[Example], seed: int, consumed: int, count: int) -> list[Example]:
    """The next ``count`` examples of the order after ``consumed`` (running on into the next epochs)."""
    n = len(train)
    picked = []
    for index in range(consumed, consumed + count):
        epoch, position = divmod(index, n)
        picked.append(train[data_order(seed, epoch, n)[position]])
    return picked


def train(config, should_cancel: Callable[[], bool] | None = None, resume: str = "auto") -> Iterator[Event]:
    """Train an adapter as ``config`` says; ends with ``Done`` (stats: finish, steps, losses, adapter)."""
    cancel = should_cancel or (lambda: False)
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        session = yield from prepare(config, resume, cancel)
    except Cancelled:
        yield Done.cancelled(steps=0)
        return
    yield from Run(session, cancel, started).run()


class Run:
    def __init__(self, session: Session, should_cancel: Callable[[], bool], started: float):
        self.s = session
        self.config = session.config
        self.should_cancel = should_cancel
        self.started = started
        self.total = total_steps(self.config, len(session.train))
        params = list(trainable_parameters(session.peft).values())
        self.optimizer = torch.optim.AdamW(
            params, lr=self.config.learning_rate, weight_decay=self.config.weight_decay
        )
        self.scheduler = make_scheduler(
            self.optimizer,
            self.total,
            self.config.warmup_ratio,
            self.config.schedule,
            self.config.min_lr_ratio,
        )
        self.state = TrainState()
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.step_seconds: float | None = None
        self.device = session.loaded.device
        if session.checkpoint is not None:
            self._restore(session.checkpoint)

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> Iterator[Event]:
        state = self.state
        yield TrainStart(
            self.total, len(self.s.train), len(self.s.evals), count_parameters(self.s.peft)[0], state.step
        )
        finish = Finish.COMPLETED
        while state.step < self.total:
            if self.should_cancel():
                finish = Finish.CANCELLED
                yield from self._checkpoint()
                break
            yield self._step()
            if self._eval_due():
                yield self._evaluate()
                if self._patience_spent():
                    finish = Finish.EARLY_STOP
                    break
            if self._checkpoint_due():
                yield from self._checkpoint()
        if finish == Finish.COMPLETED and self._final_eval_due():
            yield self._evaluate()
        if finish != Finish.CANCELLED:
            self._finish()
        yield Done(self._stats(finish))

    def _step(self) -> TrainProgress:
        config, state = self.config, self.state
        begun = time.perf_counter()
        self.s.peft.train()
        examples = take(self.s.train, config.seed, state.consumed, config.batch_size * config.grad_accum)
        loss = self._learn(examples)
        state.step += 1
        state.consumed += len(examples)
        state.last_loss = loss
        seconds = time.perf_counter() - begun
        state.train_seconds += seconds
        self.step_seconds = (
            seconds if self.step_seconds is None else (1 - _EMA) * self.step_seconds + _EMA * seconds
        )
        return TrainProgress(
            step=state.step,
            total_steps=self.total,
            loss=loss,
            eval_loss=state.last_eval_loss,
            learning_rate=self.optimizer.param_groups[0]["lr"],
            examples_per_s=len(examples) / seconds if seconds > 0 else 0.0,
            seconds_left=self.step_seconds * (self.total - state.step),
            epoch=state.consumed / len(self.s.train),
        )

    def _learn(self, examples: list[Example]) -> float:
        """One optimizer step; returns the mean loss over the step's labelled tokens."""
        encoded = self.s.encoded(examples)
        size = self.config.batch_size
        batches = [collate(encoded[i : i + size], pad_id(self.s)) for i in range(0, len(encoded), size)]
        tokens = sum(batch.label_tokens for batch in batches)
        total = 0.0
        for batch in batches:
            summed = self._loss_sum(batch)
            (summed / tokens).backward()
            total += float(summed.detach())
        if self.config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(
                self.optimizer.param_groups[0]["params"], self.config.max_grad_norm
            )
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total / tokens

    def _loss_sum(self, batch: Batch) -> torch.Tensor:
        return loss_sum(self.s.model, batch, self.device, share_prefix=not self.config.gradient_checkpointing)

    # --- evaluation and early stopping -----------------------------------------------------------

    def _eval_due(self) -> bool:
        every = self.config.eval_every
        return bool(self.s.evals) and bool(every) and self.state.step % every == 0

    def _final_eval_due(self) -> bool:
        """The last step is always evaluated (unless the schedule just did)."""
        return bool(self.s.evals) and not self._eval_due()

    @torch.no_grad()
    def _evaluate(self) -> TrainEval:
        state = self.state
        loss, exact = evaluate(self.s, self.s.evals)
        state.last_eval_exact = exact
        improved = state.best_eval_loss is None or loss < state.best_eval_loss
        if improved:
            state.best_eval_loss, state.best_step, state.evals_since_best = loss, state.step, 0
            self.best_weights = trainable_state(self.s.peft)
        else:
            state.evals_since_best += 1
        state.last_eval_loss = loss
        patience = self.config.early_stop_patience
        left = patience - state.evals_since_best if patience else None
        return TrainEval(state.step, loss, state.best_eval_loss, improved, left, exact)

    def _patience_spent(self) -> bool:
        patience = self.config.early_stop_patience
        return bool(patience) and self.state.evals_since_best >= patience

    # --- checkpoints and the end -----------------------------------------------------------------

    def _checkpoint_due(self) -> bool:
        every = self.config.checkpoint_every
        return bool(every) and self.state.step % every == 0 and self.state.step < self.total

    def _checkpoint(self) -> Iterator[CheckpointSaved]:
        if self.state.step == 0:
            return
        path = ckpt.save_checkpoint(Path(self.config.out), self._snapshot())
        yield CheckpointSaved(self.state.step, str(path))

    def _snapshot(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "dataset_sha256": self.s.data_sha256,
            "state": asdict(self.state),
            "weights": trainable_state(self.s.peft),
            "best_weights": self.best_weights,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": _rng_state(),
        }

    def _restore(self, saved: dict[str, Any]) -> None:
        self.state = TrainState(**saved["state"])
        set_trainable_state(self.s.peft, saved["weights"])
        self.best_weights = saved.get("best_weights")
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        _set_rng_state(saved["rng"])

    def _finish(self) -> None:
        if self.best_weights is not None:  # the adapter kept is the best one evaluated
            set_trainable_state(self.s.peft, self.best_weights)
        save_adapter(self.s.peft, Path(self.config.out), self._metadata())
        ckpt.remove_checkpoints(Path(self.config.out))

    def _metadata(self) -> dict[str, Any]:
        report = self.s.report
        return {
            "base_model": base_model_metadata(self.s.model, self.s.loaded.path),
            "trained_precision": self.s.loaded.precision,
            "dataset": {
                "path": str(report.path),
                "sha256": report.sha256,
                "train_examples": len(self.s.train),
                "eval_examples": len(self.s.evals),
                "eval_data": self.config.eval_data,
            },
            "settings": self.config.to_dict(),
            "metrics": self._metrics(),
        }

    def _metrics(self) -> dict[str, Any]:
        state = self.state
        return {
            "steps": state.step,
            "epochs": round(state.consumed / len(self.s.train), 4),
            "train_loss": state.last_loss,
            "eval_loss": state.last_eval_loss,
            "eval_exact": state.last_eval_exact,
            "best_eval_loss": state.best_eval_loss,
            "best_step": state.best_step if state.best_eval_loss is not None else None,
            "train_seconds": round(state.train_seconds, 2),
        }

    def _stats(self, finish: str) -> dict[str, Any]:
        return {
            "finish": finish,
            **self._metrics(),
            "total_seconds": round(time.perf_counter() - self.started, 2),
            "adapter": str(self.config.out) if finish != Finish.CANCELLED else None,
            "audio_encoding": "fast" if self.s.encoder.fast else "reference",
        }


# --- evaluation -------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(session: Session, examples: list[Example]) -> tuple[float, float]:
    """Mean loss per labelled token over ``examples``, and the share of them whose answer greedy
    decoding would write exactly (dropout off)."""
    session.peft.eval()
    total, tokens, exact = 0.0, 0, 0
    size = session.config.batch_size
    for i in range(0, len(examples), size):
        batch = collate(session.encoded(examples[i : i + size]), pad_id(session))
        summed, rows_exact = loss_and_exact(session.model, batch, session.loaded.device)
        total += float(summed)
        tokens += batch.label_tokens
        exact += int(rows_exact.sum())
    session.peft.train()
    return total / max(1, tokens), exact / max(1, len(examples))


def pad_id(session: Session) -> int:
    tokenizer = session.builder.tokenizer
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else session.builder.end_id


# --- random state ------------------------------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value: Any) -> Any:
    """random.setstate wants tuples; a saved state may come back with lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list | tuple) else value
