"""The learning-rate schedule: linear warm-up from 0, then cosine, linear or constant."""

from __future__ import annotations

import math

import torch


def lr_factor(step: int, total: int, warmup: int, kind: str, floor: float) -> float:
    """Multiplier of the peak rate for optimizer step ``step`` (0-based) of ``total``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if kind == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    shape = 0.5 * (1 + math.cos(math.pi * progress)) if kind == "cosine" else 1 - progress
    return floor + (1 - floor) * shape


def warmup_steps(total: int, ratio: float) -> int:
    return math.ceil(total * ratio)


def make_scheduler(optimizer: torch.optim.Optimizer, total: int, ratio: float, kind: str, floor: float):
    warmup = warmup_steps(total, ratio)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total, warmup, kind, floor)
    )
