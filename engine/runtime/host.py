"""What lives in the engine process between requests: one model, its adapters, decoded audio
and prefilled conversations.

The base model stays loaded while adapters come and go on it (``AdapterManager``); a request
for another model, device or precision loads that one instead.
"""

from __future__ import annotations

import gc
from collections.abc import Generator, Iterator
from pathlib import Path

from engine.events import Done, Event, Progress, Stage
from engine.inference.contexts import ContextCache
from engine.inference.prompt import Prompt
from engine.model import quantized_cache
from engine.requests import LoadRequest, ModelChoice
from engine.runtime.audio_cache import AudioCache
from engine.trainer.adapters import AdapterManager, adapter_identity
from engine.trainer.errors import AdapterInjectionError

CONTEXT_CACHE_BYTES_CPU = 4 * 1024**3  # prefilled conversations kept for follow-ups, on the CPU
CONTEXT_CACHE_GPU_SHARE = 0.25  # … and on a GPU, as a share of its memory


class ModelHost:
    def __init__(self):
        self.loaded = None  # engine.model.loading.LoadedModel
        self.spec = None  # the registry entry of the loaded model; None for a local folder
        self.adapters: AdapterManager | None = None  # on self.loaded, once an adapter was asked for
        self.audio = AudioCache()
        self.contexts = ContextCache(CONTEXT_CACHE_BYTES_CPU)
        self._loaded_key: tuple | None = None

    @property
    def thinks(self) -> bool:
        """The loaded model reasons in ``<think>`` by itself (the Think checkpoint)."""
        return bool(getattr(self.spec, "thinks", False))

    def model_for(self, choice: ModelChoice) -> Generator[Event, None, tuple]:
        """Make the chosen model and adapter the ones that answer, loading the base model only
        when it changes; yields progress. Returns the model key, (folder, device, precision,
        adapter identity or None): what a prefilled context was computed under."""
        from engine.model.loading import choose_device, load_model
        from engine.model.registry import resolve_model

        resolved = resolve_model(choice.model, Path(choice.models_dir))
        adapter = adapter_identity(Path(choice.adapter)) if choice.adapter else None  # before any loading
        device = choose_device(choice.device)  # a bad device fails before the loaded model goes
        # An unset device or precision takes the loaded model's; else load_model picks it by free
        # memory, once the old model is gone (its memory counts as free).
        wanted = (str(resolved.path), device if choice.device else None, choice.precision or None)
        held = self._loaded_key or (None, None, None)
        if any(w not in (None, h) for w, h in zip(wanted, held, strict=True)):
            self.unload()
            yield Progress(Stage.LOAD_MODEL, 0.0, 1.0)
            self.loaded = load_model(
                resolved.path, precision=choice.precision, device=choice.device, cache_dir=_copies(choice)
            )
            self.spec = resolved.spec
            self._loaded_key = (str(resolved.path), self.loaded.device, self.loaded.precision)
            self.contexts.max_bytes = _context_budget(self.loaded.device)
            yield Progress(Stage.LOAD_MODEL, 1.0, 1.0)
        self._use_adapter(adapter)
        return (*self._loaded_key, adapter)

    def _use_adapter(self, identity: tuple | None) -> None:
        if identity is None and self.adapters is None:
            return
        if self.adapters is None:
            self.adapters = AdapterManager(self.loaded)
        try:
            self.adapters.activate(identity)
        except AdapterInjectionError:
            self.unload()  # peft may have half-changed the model: the next request loads it afresh
            raise

    def load(self, request: LoadRequest) -> Iterator[Event]:
        """Load (or keep) the chosen model; ``Done`` says what answers now."""
        yield from self.model_for(request.model)
        loaded = self.loaded
        yield Done(
            {
                "model": str(loaded.path),
                "device": loaded.device,
                "precision": loaded.precision,
                "load_s": round(loaded.load_seconds, 3),
                "loaded_from": loaded.source,  # the checkpoint, or the quantized copy on disk
                "max_audio_s": loaded.max_audio_s,
                "adapter": self.adapters.active if self.adapters is not None else None,
            }
        )

    def unload(self) -> None:
        import torch

        self.contexts.clear()
        self.loaded, self.spec, self._loaded_key, self.adapters = None, None, None, None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def make_room(self, prompt: Prompt) -> None:
        """On a GPU short of memory for this prompt's KV cache, drop older contexts first."""
        import torch

        if self.loaded.device != "cuda":
            return
        free, _ = torch.cuda.mem_get_info()
        needed = int(prompt.inputs["input_ids"].shape[-1]) * _kv_bytes_per_token(self.loaded) * 2
        if free < needed:
            self.contexts.shrink_to(max(0, self.contexts.nbytes - (needed - free)))
            torch.cuda.empty_cache()


def _copies(choice: ModelChoice) -> Path | None:
    """Where quantized copies of models are kept: ``quantized`` in the app's cache folder."""
    return Path(choice.cache_dir) / quantized_cache.FOLDER if choice.cache_dir else None


def _kv_bytes_per_token(loaded) -> int:
    text = loaded.model.config.text_config
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    return 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim * loaded.dtype.itemsize


def _context_budget(device: str) -> int:
    if device == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(0).total_memory * CONTEXT_CACHE_GPU_SHARE)
    return CONTEXT_CACHE_BYTES_CPU
