"""Trained adapters on disk, and on a loaded model: load, switch, unload without reloading the base.

An adapter folder holds peft's files (``adapter_config.json``, ``adapter_model.safetensors``)
and ``heron-adapter.json``: the base model it was trained on, the dataset's hash, the
settings, the final metrics and the Heron version.

``AdapterManager`` wraps a ``LoadedModel``'s model in a peft model the first time an adapter is
loaded; the wrapping injects the adapter layers into the model object itself, so everything
that holds ``loaded.model`` (``engine.inference.generation.stream_answer`` included) uses the active
adapter with no change. Unloading the last adapter removes every injected layer: the base
model's own weights were never touched, so its outputs come back exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import __version__
from engine.files import FileRefusedError, read_limited
from engine.trainer.errors import AdapterError, AdapterInjectionError

METADATA_FILE = "heron-adapter.json"
PEFT_FILES = ("adapter_config.json", "adapter_model.safetensors")
FORMAT = 1
MAX_METADATA_BYTES = 2**20  # heron-adapter.json is a few KB
MAX_LOADED = 4  # adapters kept on a model at once (a few MB each); the least recently used goes
# Base-model config values an adapter's shapes depend on.
SHAPE_KEYS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
)


@dataclass(frozen=True)
class AdapterInfo:
    name: str
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)  # heron-adapter.json ({} for a bare peft adapter)
    identity: tuple | None = None  # adapter_identity() of the weights loaded, on a model

    @property
    def base_model(self) -> str | None:
        return self.metadata.get("base_model", {}).get("name")

    @property
    def metrics(self) -> dict[str, Any]:
        return self.metadata.get("metrics") or {}

    @property
    def created(self) -> str:
        return self.metadata.get("created", "")


def base_model_metadata(model, path: Path) -> dict[str, Any]:
    text = model.config.text_config
    return {
        "name": Path(path).name,
        "path": str(path),
        "model_type": model.config.model_type,
        "text_config": {key: getattr(text, key, None) for key in SHAPE_KEYS},
    }


def save_adapter(peft_model, out: Path, metadata: dict[str, Any]) -> Path:
    """peft's files plus heron-adapter.json into ``out``; each file replaced atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "format": FORMAT,
        "heron_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **metadata,
    }
    with tempfile.TemporaryDirectory(dir=out, prefix=".adapter-tmp-") as tmp:
        peft_model.save_pretrained(tmp)
        (Path(tmp) / METADATA_FILE).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        for file in sorted(Path(tmp).iterdir()):
            if file.is_file():
                os.replace(file, out / file.name)
    return out


def read_adapter(folder: Path) -> dict[str, Any]:
    """The metadata of an adapter folder ({} when it has peft's files but no heron-adapter.json)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise AdapterError(f"No adapter folder at {folder}: pass the folder `heron train --out` wrote.")
    missing = [name for name in PEFT_FILES if not (folder / name).is_file()]
    if missing:
        raise AdapterError(
            f"{folder} is not a finished adapter (no {', '.join(missing)}): "
            "pass the folder `heron train --out` wrote once training ended."
        )
    meta_file = folder / METADATA_FILE
    if not meta_file.is_file():
        return {}
    try:
        return json.loads(read_limited(meta_file, MAX_METADATA_BYTES))
    except FileRefusedError as exc:
        raise AdapterError(f"{meta_file} {exc.reason}: train the adapter again.") from exc
    except ValueError as exc:
        raise AdapterError(
            f"{meta_file} is damaged ({exc.__class__.__name__}): train the adapter again."
        ) from exc


def adapter_identity(folder: Path) -> tuple:
    """What tells one trained adapter from another: its folder, and its weights' size and time
    (an adapter trained again into the same folder is another adapter)."""
    folder = Path(folder).expanduser().resolve()
    weights = folder / PEFT_FILES[1]
    if not weights.is_file():
        read_adapter(folder)  # raises the message that says what is wrong with the folder
    stat = weights.stat()
    return (str(folder), stat.st_size, stat.st_mtime_ns)


def find_adapters(root: Path) -> list[AdapterInfo]:
    """The finished adapters in the folders directly under ``root``, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if not folder.is_dir() or not all((folder / name).is_file() for name in PEFT_FILES):
            continue
        try:
            metadata = read_adapter(folder)
        except AdapterError:
            metadata = {}  # damaged metadata: still listed, so that it can be removed
        found.append(AdapterInfo(folder.name, folder, metadata))
    return sorted(found, key=lambda a: (a.metadata.get("created", ""), a.name), reverse=True)


def describe_metrics(metrics: dict[str, Any]) -> str:
    """An adapter's final metrics in a few words, e.g. "eval loss 0.213, 92% exact, 400 steps"."""
    parts = []
    if metrics.get("eval_loss") is not None:
        parts.append(f"eval loss {metrics['eval_loss']:.3f}")
    elif metrics.get("train_loss") is not None:
        parts.append(f"train loss {metrics['train_loss']:.3f}")
    if metrics.get("eval_exact") is not None:
        parts.append(f"{metrics['eval_exact']:.0%} exact")
    if metrics.get("steps"):
        parts.append(f"{metrics['steps']} steps")
    return ", ".join(parts) or "no metrics"


def check_compatible(metadata: dict[str, Any], model, folder: Path) -> None:
    """Refuse an adapter trained on a base model of another kind or shape, before peft fails obscurely."""
    base = metadata.get("base_model", {})
    if base.get("model_type") and base["model_type"] != model.config.model_type:
        raise AdapterError(
            f"The adapter in {folder} was trained on a {base['model_type']} model ({base.get('name')}), "
            f"not on this {model.config.model_type} model: load the model it was trained on."
        )
    trained = base.get("text_config") or {}
    text = model.config.text_config
    different = [k for k, v in trained.items() if v is not None and getattr(text, k, v) != v]
    if different:
        key = different[0]
        raise AdapterError(
            f"The adapter in {folder} was trained on another base model "
            f"({metadata['base_model'].get('name')}: {key} {trained[key]}, this model has "
            f"{getattr(text, key)}): load the model it was trained on."
        )


class AdapterManager:
    """Adapters on one ``LoadedModel``: ``load`` (and activate), ``use``, ``unload``, ``active``."""

    def __init__(self, loaded):
        self.loaded = loaded
        self.peft = None  # the PeftModel wrapper, while at least one adapter is loaded
        self.adapters: dict[str, AdapterInfo] = {}  # in the order they were loaded
        self._active: str | None = None
        self._last_used: dict[str, int] = {}  # name -> when ``activate`` last chose it

    @property
    def active(self) -> str | None:
        return self._active

    @property
    def names(self) -> list[str]:
        return list(self.adapters)

    def load(self, folder: Path, name: str | None = None, identity: tuple | None = None) -> str:
        """Load the adapter in ``folder`` next to any others and make it the active one."""
        folder = Path(folder).expanduser().resolve()
        metadata = read_adapter(folder)
        check_compatible(metadata, self.loaded.model, folder)
        name = self._free_name(name or folder.name)
        try:
            self._inject(folder, name)
        except (ValueError, KeyError, RuntimeError, OSError) as exc:
            raise AdapterInjectionError(f"Cannot load the adapter in {folder}: {_first_line(exc)}") from exc
        self.adapters[name] = AdapterInfo(name, folder, metadata, identity)
        self.use(name)
        return name

    def activate(self, identity: tuple | None) -> None:
        """Answer with the adapter ``identity`` (``adapter_identity``) names, loading it if need
        be, at most ``MAX_LOADED`` kept; None: the base model."""
        if identity is None:
            self.use(None)
            return
        name = next((n for n, info in self.adapters.items() if info.identity == identity), None)
        if name is None:
            name = self._load_fresh(identity)
        else:
            self.use(name)
        self._last_used[name] = max(self._last_used.values(), default=0) + 1

    def _load_fresh(self, identity: tuple) -> str:
        folder = Path(identity[0])
        check_compatible(read_adapter(folder), self.loaded.model, folder)  # refused before any change
        for stale in [n for n, info in self.adapters.items() if str(info.path) == identity[0]]:
            self.unload(stale)  # older weights from the same folder: trained again since
        while len(self.adapters) >= MAX_LOADED:
            self.unload(min(self.adapters, key=lambda n: self._last_used.get(n, 0)))
        return self.load(folder, identity=identity)

    def use(self, name: str | None) -> None:
        """Make ``name`` the active adapter; None answers with the base model alone."""
        if name is not None and name not in self.adapters:
            raise AdapterError(
                f"No adapter named {name!r} is loaded (loaded: {', '.join(self.adapters) or 'none'})."
            )
        if self.peft is not None:
            if name is None:
                self.peft.base_model.disable_adapter_layers()
            else:
                self.peft.set_adapter(name, inference_mode=True)
                self.peft.base_model.enable_adapter_layers()
        self._active = name

    def unload(self, name: str) -> None:
        """Remove ``name``; after the last one the model is exactly the base model again."""
        if name not in self.adapters:
            raise AdapterError(f"No adapter named {name!r} is loaded.")
        del self.adapters[name]
        self._last_used.pop(name, None)
        with warnings.catch_warnings():  # peft announces which adapter it makes active instead
            warnings.simplefilter("ignore", UserWarning)
            self.peft.delete_adapter(name)
        if not self.adapters:
            # With no adapter left, unloading puts every wrapped module's original back (with one
            # left, peft would keep that adapter's copies of fully trained modules).
            self.peft.unload()
            self.peft, self._active = None, None
            return
        if self._active == name:
            self.use(None)
        else:
            self.use(self._active)

    def unload_all(self) -> None:
        for name in list(self.adapters):
            self.unload(name)

    def _inject(self, folder: Path, name: str) -> None:
        from engine.model.loading import quiet_bitsandbytes

        quiet_bitsandbytes()
        from peft import PeftModel

        with warnings.catch_warnings():  # peft asks transformers a deprecated question
            warnings.simplefilter("ignore", FutureWarning)
            if self.peft is None:
                self.peft = PeftModel.from_pretrained(
                    self.loaded.model, folder, adapter_name=name, is_trainable=False
                )
            else:
                self.peft.load_adapter(folder, adapter_name=name, is_trainable=False)
        self.loaded.model.eval()

    def _free_name(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self.adapters:
            name, n = f"{wanted}-{n}", n + 1
        return name


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def remove_adapter_files(out: Path) -> None:
    """Delete a finished adapter's files from ``out`` (for --overwrite), leaving other files alone."""
    for name in (*PEFT_FILES, METADATA_FILE):
        path = Path(out) / name
        if path.is_file():
            path.unlink()
    for tmp in Path(out).glob(".adapter-tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
