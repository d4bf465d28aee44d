"""LoRA (or QLoRA on a 4-bit base) on the language model, with peft.

LoRA targets are scoped to the language model by a regular expression: the audio encoder
has ``q_proj``/``k_proj``/``v_proj`` layers too, and the trainer never changes the encoder
(its outputs may be cached). Whole modules can train alongside (peft ``modules_to_save``):
the audio projector, and for a randomly initialised model the output head and final norm,
without which a frozen random head keeps the loss from falling.
"""

from __future__ import annotations

import re
import warnings

import torch
from torch import nn

from engine.trainer.config import TrainConfig
from engine.trainer.errors import TrainConfigError

PROJECTOR = "model.multi_modal_projector"
# Short names a person may write in modules_to_save, and the module paths they stand for.
MODULE_ALIASES = {
    "projector": PROJECTOR,
    "lm_head": "lm_head",
    "norm": "model.language_model.norm",
    "embed_tokens": "model.language_model.embed_tokens",
}


def target_regex(names: list[str]) -> str:
    """peft full-matches a string target against each module path."""
    choices = "|".join(re.escape(name) for name in names)
    return rf".*language_model\..*\.({choices})"


def full_modules(config: TrainConfig) -> list[str]:
    modules = [MODULE_ALIASES.get(name, name) for name in config.modules_to_save]
    if config.train_projector and PROJECTOR not in modules:
        modules.append(PROJECTOR)
    return list(dict.fromkeys(modules))


def lora_config(config: TrainConfig):
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=target_regex(config.target_modules),
        modules_to_save=full_modules(config) or None,
        bias="none",
    )


def attach_lora(model: nn.Module, config: TrainConfig, adapter_name: str = "default"):
    """Wrap ``model`` in a peft model with a fresh adapter; only the adapter (and full modules) train.

    The adapter's initial weights come from torch's generator: seed it first for a reproducible run.
    """
    from engine.model.loading import quiet_bitsandbytes

    quiet_bitsandbytes()  # peft imports bitsandbytes, whose import logs a harmless line
    from peft import get_peft_model

    _check_modules_exist(model, config)
    for param in model.parameters():
        param.requires_grad_(False)  # embed_positions comes back trainable from from_pretrained
    if config.gradient_checkpointing:
        model.activation_checkpointing_enable({"use_reentrant": False})
        model.config.use_cache = False
    with warnings.catch_warnings():  # peft asks transformers a deprecated question
        warnings.simplefilter("ignore", FutureWarning)
        peft_model = get_peft_model(model, lora_config(config), adapter_name=adapter_name)
    _check_encoder_frozen(peft_model)
    return peft_model


def trainable_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def _check_modules_exist(model: nn.Module, config: TrainConfig) -> None:
    names = [name for name, _ in model.named_modules()]
    pattern = re.compile(target_regex(config.target_modules))
    found = {name.rsplit(".", 1)[-1] for name in names if pattern.fullmatch(name)}
    missing = [t for t in config.target_modules if t not in found]
    if missing:
        raise TrainConfigError(
            f"target_modules {', '.join(missing)} match no layer of the language model "
            f"(it has e.g. {', '.join(_linear_names(model)[:8])})."
        )
    missing = [m for m in full_modules(config) if m not in names]
    if missing:
        raise TrainConfigError(
            f"modules_to_save {', '.join(missing)} not found in the model "
            f"(short names: {', '.join(MODULE_ALIASES)})."
        )


def _linear_names(model: nn.Module) -> list[str]:
    return sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if "language_model." in name and isinstance(module, nn.Linear)
        }
    )


def _check_encoder_frozen(peft_model) -> None:
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad and "audio_tower" in n]
    if trainable:  # the cached encoder outputs would go stale
        raise TrainConfigError(f"the audio encoder must stay frozen, but {trainable[0]} would train.")


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, all) parameter counts; 4-bit weights count as stored."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def set_trainable_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy saved trainable weights (adapter and full modules) back into ``model``, by name."""
    params = trainable_parameters(model)
    missing = sorted(set(params) - set(state))
    if missing:
        raise KeyError(f"checkpoint lacks {missing[0]}")
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(state[name].to(param.device, param.dtype))


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().to("cpu", copy=True) for name, p in trainable_parameters(model).items()}
