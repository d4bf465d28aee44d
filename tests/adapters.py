"""Adapters for tests: random (non-zero) LoRA weights on the tiny model, saved as the trainer saves them."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.model.loading import load_model
from engine.trainer import TrainConfig, save_adapter
from engine.trainer.adapters import base_model_metadata
from engine.trainer.lora import attach_lora


def make_random_adapter(tiny_model: Path, out: Path, seed: int) -> Path:
    loaded = load_model(tiny_model, precision="fp32", device="cpu")
    torch.manual_seed(seed)
    config = TrainConfig(data="d.jsonl", out=str(out), train_projector=True, modules_to_save=["lm_head"])
    peft = attach_lora(loaded.model, config)
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * (0.5 if "lora_B" in name else 0.05))
    meta = {
        "base_model": base_model_metadata(loaded.model, tiny_model),
        "settings": config.to_dict(),
        "dataset": {"sha256": "0" * 64},
        "metrics": {"eval_loss": 0.5},
    }
    return save_adapter(peft, out, meta)
