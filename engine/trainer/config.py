"""Training settings: one dataclass, loaded from a TOML file and overridden by flags.

Every field is a setting of ``heron train`` (a TOML key and a ``--flag``); its help is the
field's metadata, so the CLI, the file format and the checks cannot drift apart. Paths in
a TOML file are relative to the file's folder; paths given as flags, to the current folder.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.files import MISSING as NO_FILE
from engine.files import FileRefusedError, read_limited
from engine.trainer.errors import TrainConfigError

LANGUAGE_MODEL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SCHEDULES = ("cosine", "linear", "constant")
PATH_FIELDS = ("data", "eval_data", "out")
MAX_TOML_BYTES = 2**20  # settings are a few hundred bytes
# Settings that may change when a run resumes: they do not change what training computes.
RESUMABLE_CHANGES = frozenset({"checkpoint_every", "device", "threads"})


def _setting(default: Any, help: str, **meta: Any) -> Any:
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **meta})
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class TrainConfig:
    # what to train on, and where the adapter goes
    data: str = _setting("", "training examples, a JSONL file (see engine/trainer/dataset.py)")
    out: str = _setting(
        "",
        "folder for the adapter (and its checkpoints while training); a bare name: in Heron's adapters folder",
    )
    model: str = _setting("instruct", "base model: instruct, think, captioner, or a model folder")
    eval_data: str | None = _setting(None, "held-out examples (JSONL); default: a split of --data")
    eval_fraction: float = _setting(0.1, "share of --data held out for evaluation when no --eval-data")
    # how the base model is loaded
    precision: str | None = _setting(
        None, "nf4 (QLoRA), int8, bf16 or fp32; default: the largest that fits in free memory"
    )
    device: str | None = _setting(None, "cpu, cuda or cuda:N; default CUDA when present")
    # the adapter
    lora_r: int = _setting(16, "LoRA rank")
    lora_alpha: float = _setting(32.0, "LoRA alpha (the update is scaled by alpha / r)")
    lora_dropout: float = _setting(0.05, "dropout on the LoRA input")
    target_modules: list[str] = _setting(
        LANGUAGE_MODEL_PROJECTIONS, "language-model layers that get LoRA (names of Linear layers)"
    )
    train_projector: bool = _setting(False, "also train the audio projector in full")
    modules_to_save: list[str] = _setting(
        [], "more modules trained in full and saved with the adapter, e.g. lm_head, norm (final norm)"
    )
    # optimisation
    epochs: float = _setting(3.0, "passes over the training examples (ignored when --max-steps is set)")
    max_steps: int = _setting(0, "optimizer steps to take; 0: from --epochs")
    batch_size: int = _setting(4, "examples per forward pass")
    grad_accum: int = _setting(4, "forward passes per optimizer step (gradient accumulation)")
    learning_rate: float = _setting(2e-4, "peak learning rate (AdamW)")
    weight_decay: float = _setting(0.0, "AdamW weight decay")
    warmup_ratio: float = _setting(0.05, "share of the steps spent warming the learning rate up from 0")
    schedule: str = _setting("cosine", "learning-rate schedule after warm-up: cosine, linear or constant")
    min_lr_ratio: float = _setting(0.0, "the schedule's final learning rate, as a share of the peak")
    max_grad_norm: float = _setting(1.0, "clip gradients to this norm; 0: no clipping")
    gradient_checkpointing: bool = _setting(False, "recompute activations in the backward pass (less memory)")
    cache_audio_features: bool = _setting(
        True, "encode each clip once with the frozen encoder and reuse it every epoch (memory for speed)"
    )
    # evaluation, stopping, checkpoints
    eval_every: int = _setting(50, "evaluate every N steps (and at the end); 0: only at the end")
    early_stop_patience: int = _setting(0, "stop after N evaluations without a better eval loss; 0: never")
    checkpoint_every: int = _setting(100, "write a resumable checkpoint every N steps; 0: never")
    seed: int = _setting(0, "seed for the split, the data order, dropout and the adapter's initial weights")
    threads: int = _setting(0, "CPU threads for torch; 0: torch's default (1 can be faster on a busy CPU)")

    def with_overrides(self, overrides: dict[str, Any]) -> TrainConfig:
        unknown = sorted(set(overrides) - set(setting_names()))
        if unknown:
            raise TrainConfigError(f"Unknown training setting(s): {', '.join(unknown)}.")
        return replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> TrainConfig:
        """Check every value; return self so calls chain."""
        problems = [p for check in _CHECKS for p in check(self)]
        if problems:
            raise TrainConfigError("Invalid training settings: " + "; ".join(problems) + ".")
        return self


def setting_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def setting_fields():
    return fields(TrainConfig)


def default_of(f) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


# --- checks ------------------------------------------------------------------------------------


def _check_required(c: TrainConfig) -> list[str]:
    out = []
    if not c.data:
        out.append("data is missing (the training JSONL: --data or data = … in the TOML file)")
    if not c.out:
        out.append("out is missing (the adapter folder: --out or out = … in the TOML file)")
    return out


def _check_ranges(c: TrainConfig) -> list[str]:
    rules = [
        ("lora_r", c.lora_r >= 1, "at least 1"),
        ("lora_alpha", c.lora_alpha > 0, "above 0"),
        ("lora_dropout", 0 <= c.lora_dropout < 1, "from 0 to below 1"),
        ("eval_fraction", 0 <= c.eval_fraction < 1, "from 0 to below 1"),
        ("epochs", c.epochs > 0 and math.isfinite(c.epochs), "above 0"),
        ("max_steps", c.max_steps >= 0, "0 or more"),
        ("batch_size", c.batch_size >= 1, "at least 1"),
        ("grad_accum", c.grad_accum >= 1, "at least 1"),
        ("learning_rate", 0 < c.learning_rate < 1, "above 0 and below 1"),
        ("weight_decay", c.weight_decay >= 0, "0 or more"),
        ("warmup_ratio", 0 <= c.warmup_ratio < 1, "from 0 to below 1"),
        ("min_lr_ratio", 0 <= c.min_lr_ratio <= 1, "from 0 to 1"),
        ("max_grad_norm", c.max_grad_norm >= 0, "0 or more"),
        ("eval_every", c.eval_every >= 0, "0 or more"),
        ("early_stop_patience", c.early_stop_patience >= 0, "0 or more"),
        ("checkpoint_every", c.checkpoint_every >= 0, "0 or more"),
        ("threads", c.threads >= 0, "0 or more"),
    ]
    return [f"{name} must be {rule}, not {getattr(c, name)!r}" for name, ok, rule in rules if not ok]


def _check_choices(c: TrainConfig) -> list[str]:
    out = []
    if c.schedule not in SCHEDULES:
        out.append(f"schedule must be one of {', '.join(SCHEDULES)}, not {c.schedule!r}")
    if c.precision is not None and c.precision not in ("nf4", "int8", "bf16", "fp32"):
        out.append(f"precision must be nf4, int8, bf16 or fp32, not {c.precision!r}")
    if not c.target_modules:
        out.append("target_modules is empty: name at least one Linear layer, e.g. q_proj")
    return out


_CHECKS = (_check_required, _check_ranges, _check_choices)


# --- TOML --------------------------------------------------------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    """The settings in a TOML file (top level or a [train] table), paths made absolute."""
    path = Path(path)
    try:
        data = tomllib.loads(read_limited(path, MAX_TOML_BYTES).decode("utf-8"))
    except FileRefusedError as exc:
        if exc.reason == NO_FILE:
            raise TrainConfigError(f"Training config not found: {path}.") from exc
        raise TrainConfigError(f"Cannot use {path} as training settings: it {exc.reason}.") from exc
    except UnicodeDecodeError as exc:
        raise TrainConfigError(f"{path} is not UTF-8 text (byte {exc.start + 1}): save it as UTF-8.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TrainConfigError(f"{path} is not valid TOML: {exc}.") from exc
    data = data.get("train", data)
    _check_toml_types(path, data)
    base = path.resolve().parent
    for name in PATH_FIELDS:
        if isinstance(data.get(name), str) and data[name]:
            data[name] = str((base / data[name]).resolve())
    if isinstance(data.get("model"), str) and _looks_like_path(data["model"]):
        data["model"] = str((base / data["model"]).resolve())
    return data


def _looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or "/" in value or "\\" in value


def _check_toml_types(path: Path, data: dict[str, Any]) -> None:
    known = {f.name: f for f in setting_fields()}
    problems = []
    for key, value in data.items():
        if key not in known:
            problems.append(f"unknown setting {key!r}")
            continue
        expected = _expected_type(known[key])
        if not _has_type(value, expected):
            problems.append(f"{key} should be {expected}, not {value!r}")
    if problems:
        raise TrainConfigError(f"{path}: " + "; ".join(problems) + ".")


def _expected_type(f) -> str:
    return str(f.type).replace(" | None", "")


def _has_type(value: Any, expected: str) -> bool:
    if expected == "bool":
        return isinstance(value, bool)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def load_config(toml_path: Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults, then the TOML file, then ``overrides`` (flags); validated."""
    values: dict[str, Any] = read_toml(toml_path) if toml_path else {}
    values.update(overrides or {})
    float_fields = {f.name for f in setting_fields() if _expected_type(f) == "float"}
    values = {k: float(v) if k in float_fields and isinstance(v, int) else v for k, v in values.items()}
    return TrainConfig().with_overrides(values).validate()


def changed_settings(old: dict[str, Any], new: TrainConfig) -> list[str]:
    """Settings that differ between a checkpoint's config and ``new`` and forbid resuming from it."""
    current = new.to_dict()
    return sorted(k for k in current if k not in RESUMABLE_CHANGES and old.get(k) != current[k])
