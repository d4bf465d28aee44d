"""Which transformers classes load a checkpoint, and how much audio its processor keeps.

AF-Next checkpoints have been published as ``musicflamingo``. transformers' newer
``audioflamingonext`` type is the same architecture under its own name: a transformers that
knows it loads it with its own classes; one that does not gets the MusicFlamingo classes and
the folder's config under MusicFlamingo's type, every value (the RoTE parameters included)
as the folder has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MODEL_TYPES = {"musicflamingo": "MusicFlamingo", "audioflamingonext": "AudioFlamingoNext"}  # type: classes


@dataclass(frozen=True)
class Architecture:
    model_class: Any  # a …ForConditionalGeneration class
    processor_class: Any
    config: Any  # the config object to load with; None: the folder's config.json as it is


def architecture_for(config: dict) -> Architecture:
    """The classes for a folder's ``config.json`` (its model type already checked)."""
    import transformers

    prefix = MODEL_TYPES[config["model_type"]]
    native = getattr(transformers, f"{prefix}ForConditionalGeneration", None)
    if native is not None:
        return Architecture(native, getattr(transformers, f"{prefix}Processor"), None)
    # Passing the config object also makes transformers rename the checkpoint's keys as it
    # does for a musicflamingo folder.
    mapped = transformers.MusicFlamingoConfig.from_dict({**config, "model_type": "musicflamingo"})
    return Architecture(
        transformers.MusicFlamingoForConditionalGeneration, transformers.MusicFlamingoProcessor, mapped
    )


def audio_limit_s(processor) -> float:
    """Seconds of audio one prompt holds: the whole windows within the processor's ``max_audio_len``."""
    window = processor.feature_extractor.chunk_length
    return float(int(processor.max_audio_len // window) * window)
