"""Fine-tune AF-Next on your own audio: LoRA / QLoRA adapters trained, saved and switched.

    from engine.trainer import TrainConfig, train, AdapterManager
    for event in train(TrainConfig(data="data.jsonl", out="my-adapter", model="path/to/model")):
        ...
    manager = AdapterManager(loaded)      # a LoadedModel
    name = manager.load("my-adapter")     # active at once; manager.use(None) for the base model

Modules: dataset (JSONL and validation), config (settings), features (encoder rows per clip),
collate (prompts, labels, batches), lora (peft setup), forward (the loss), schedule,
checkpoint, session (a run's setup), loop (train), adapters (save, load, switch, unload),
evaluate (batched greedy answers), events, errors.

Names are imported on first use: ``heron`` builds its command line from ``config`` on every
start and must not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.trainer import events as _events  # noqa: F401  (registers the event types; no torch)

_EXPORTS = {
    "AdapterError": "errors",
    "AdapterInfo": "adapters",
    "AdapterManager": "adapters",
    "CheckpointSaved": "events",
    "DatasetError": "errors",
    "DatasetReport": "dataset",
    "Example": "dataset",
    "TrainConfig": "config",
    "TrainConfigError": "errors",
    "TrainEval": "events",
    "TrainProgress": "events",
    "TrainStart": "events",
    "TrainingError": "errors",
    "load_config": "config",
    "load_dataset": "dataset",
    "read_adapter": "adapters",
    "read_dataset": "dataset",
    "save_adapter": "adapters",
    "train": "loop",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'engine.trainer' has no attribute {name!r}")
    return getattr(importlib.import_module(f"engine.trainer.{_EXPORTS[name]}"), name)
