"""A quantized model from its on-disk copy when there is a good one, else quantized as the
checkpoint streams in (then copied to disk for the next start)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from engine.model import quantized_cache
from engine.model.streamed_load import load_streamed

log = logging.getLogger(__name__)

FROM_CHECKPOINT = "checkpoint"  # quantized while loading
FROM_COPY = "quantized copy"  # read from the on-disk copy


def load_quantized(
    architecture,
    source: Path,
    files: list[Path],
    precision: str,
    device: str,
    kwargs: dict[str, Any],
    cache_root: Path | None,
    copy_bytes: int,
) -> tuple[Any, str]:
    """The model and where it came from (``FROM_COPY`` or ``FROM_CHECKPOINT``).

    ``kwargs``: what ``from_pretrained`` takes beside the weights (dtype, device_map,
    generation_config, and quantization_config for a fresh quantization). ``copy_bytes``: the
    size a copy will take on disk, to leave it unwritten when the disk is short.
    """
    folder = key = None
    if cache_root is not None:
        folder = quantized_cache.slot(cache_root, source, precision, device)
        key = quantized_cache.cache_key(source, files, precision, device)
        copy = quantized_cache.find(folder, key)
        model = _from_copy(architecture, copy, kwargs) if copy else None
        if model is not None:
            return model, FROM_COPY
    config = architecture.config or architecture.model_class.config_class.from_pretrained(source)
    model = load_streamed(architecture.model_class, config, files, **kwargs)
    if cache_root is not None:
        quantized_cache.prune(cache_root)
        quantized_cache.save(model, folder, key, copy_bytes)
    return model, FROM_CHECKPOINT


def _from_copy(architecture, copy: quantized_cache.CachedCopy, kwargs: dict[str, Any]):
    """The model from a copy, or None (the copy deleted) when the copy does not load whole."""
    from safetensors import SafetensorError

    from_copy = {k: v for k, v in kwargs.items() if k != "quantization_config"}  # the copy's config has it
    try:
        config = architecture.model_class.config_class.from_pretrained(copy.folder)
        model, info = load_streamed(
            architecture.model_class, config, copy.weight_files, output_loading_info=True, **from_copy
        )
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        return quantized_cache.discard(copy.folder, f"it does not load ({exc.__class__.__name__}: {exc})")
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():
            raise
        return quantized_cache.discard(copy.folder, f"it does not load ({exc})")
    gaps = [k for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs") if info.get(k)]
    if gaps:
        return quantized_cache.discard(copy.folder, f"its tensors do not match the model ({', '.join(gaps)})")
    return model
