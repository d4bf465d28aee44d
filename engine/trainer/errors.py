"""The trainer's failures: each one line a person can act on (see engine/errors.py)."""

from __future__ import annotations

from engine.errors import HeronError


class DatasetError(HeronError):
    """A training dataset that cannot be used; ``problems`` lists every one found, with its line."""

    kind = "dataset"

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class TrainConfigError(HeronError):
    """A training setting that is missing, unknown or out of range."""

    kind = "training"


class TrainingError(HeronError):
    """Training could not start or go on (an output folder in the way, a failed step, …)."""

    kind = "training"


class AdapterError(HeronError):
    """An adapter folder that cannot be loaded onto the model in memory."""

    kind = "adapter"


class AdapterInjectionError(AdapterError):
    """Loading an adapter's layers into the model failed part way: the model may be half-changed."""
