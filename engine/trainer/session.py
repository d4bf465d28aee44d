"""Everything one training run works with, built before the first step.

``prepare`` checks the output folder against any checkpoint there, validates the dataset,
loads the base model, attaches the adapter and makes every example ready for the model
(its audio encoded once, when ``cache_audio_features`` is on). It yields ``Progress``
events while it works and returns a ``Session``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.audio import decode_audio
from engine.events import Progress
from engine.streams import with_progress
from engine.trainer import checkpoint as ckpt
from engine.trainer.adapters import METADATA_FILE, remove_adapter_files
from engine.trainer.collate import Encoded, PromptBuilder
from engine.trainer.config import TrainConfig, changed_settings
from engine.trainer.dataset import DatasetReport, DecodedAudio, Example, load_dataset, split_examples
from engine.trainer.errors import TrainingError
from engine.trainer.features import AudioEncoder
from engine.trainer.lora import attach_lora

RESUME_MODES = ("auto", "require", "never")
ENCODE_GROUP = 32  # clips handed to the encoder at once


class Cancelled(Exception):
    """The caller asked to stop while the run was being prepared."""


@dataclass
class Session:
    config: TrainConfig
    loaded: Any  # engine.model.loading.LoadedModel
    peft: Any  # peft.PeftModel around loaded.model
    builder: PromptBuilder
    encoder: AudioEncoder
    report: DatasetReport
    train: list[Example]
    evals: list[Example]
    checkpoint: dict[str, Any] | None  # the state to resume from
    data_sha256: str  # the training data and any separate eval data: a resumed run must see the same
    decoded: DecodedAudio | None = None  # audio validation decoded, until it is encoded
    cache: dict[tuple, Encoded] = field(default_factory=dict)

    @property
    def model(self):
        """The model itself (``loaded.model``), with the adapter layers injected."""
        return self.loaded.model

    def encoded(self, examples: list[Example]) -> list[Encoded]:
        """Model-ready examples: from the cache, or decoded and encoded now."""
        missing = [ex for ex in examples if ex.key() not in self.cache]
        fresh = dict(_encode_all(self, missing)) if missing else {}
        return [self.cache.get(ex.key()) or fresh[ex.key()] for ex in examples]


def prepare(
    config: TrainConfig, resume: str = "auto", should_cancel: Callable[[], bool] | None = None
) -> Generator[Progress, None, Session]:
    out = Path(config.out).expanduser()
    state = check_output(out, config, resume)
    decoded = DecodedAudio() if config.cache_audio_features else None
    report = yield from with_progress("validate", load_dataset, Path(config.data), keep=decoded)
    train, evals, eval_sha = yield from _split(config, report, decoded)
    data_sha = (
        report.sha256 if not eval_sha else hashlib.sha256(f"{report.sha256}:{eval_sha}".encode()).hexdigest()
    )
    if state is not None and state.get("dataset_sha256") != data_sha:
        raise TrainingError(
            f"The dataset changed since the checkpoint in {out} was written: "
            "train on the same data to resume, or start over with --overwrite."
        )
    loaded = yield from _load(config)
    if resume == "never":  # only now: an invalid dataset or model leaves the old run alone
        ckpt.remove_checkpoints(out)
        remove_adapter_files(out)
    torch.manual_seed(config.seed)  # the adapter's initial weights
    peft = attach_lora(loaded.model, config)
    session = Session(
        config,
        loaded,
        peft,
        PromptBuilder(loaded.processor),
        AudioEncoder(loaded.model, loaded.processor, loaded.dtype, loaded.device),
        report,
        train,
        evals,
        state,
        data_sha,
        decoded,
    )
    if config.cache_audio_features:
        yield from _fill_cache(session, should_cancel)
    return session


def check_output(out: Path, config: TrainConfig, resume: str) -> dict[str, Any] | None:
    """The checkpoint to resume from (or None), after refusing an output folder that is in the way."""
    if resume not in RESUME_MODES:
        raise ValueError(f"resume must be one of {RESUME_MODES}")
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out} is a file: pass a folder for the adapter.")
    if resume == "never":
        return None  # what is there goes once the new run is ready to start (see prepare)
    state = ckpt.load_checkpoint(out)
    if state is None:
        if resume == "require":
            raise TrainingError(f"Nothing to resume: {out} holds no checkpoint. Run without --resume.")
        if (out / METADATA_FILE).is_file():
            raise TrainingError(
                f"{out} already holds a trained adapter: pass another --out, or --overwrite to replace it."
            )
        return None
    changed = changed_settings(state.get("config", {}), config)
    if changed:
        raise TrainingError(
            f"{out} holds a checkpoint of a run with other settings ({', '.join(changed)}): "
            "use the same settings to resume it, another --out, or --overwrite to start over."
        )
    return state


def _split(
    config: TrainConfig, report: DatasetReport, decoded: DecodedAudio | None
) -> Generator[Progress, None, tuple[list, list, str]]:
    """(train, eval, the eval file's hash or "")."""
    if not config.eval_data:
        return (*split_examples(report.examples, config.eval_fraction, config.seed), "")
    held = yield from with_progress("validate", load_dataset, Path(config.eval_data), keep=decoded)
    return report.examples, held.examples, held.sha256


def _load(config: TrainConfig) -> Generator[Progress, None, Any]:
    from engine.model.loading import load_model

    yield Progress("load_model", 0.0, 1.0)
    loaded = load_model(Path(config.model), precision=config.precision, device=config.device)
    yield Progress("load_model", 1.0, 1.0)
    return loaded


def _fill_cache(session: Session, should_cancel: Callable[[], bool] | None) -> Iterator[Progress]:
    examples = session.train + session.evals
    yield Progress("audio_features", 0, len(examples))
    for done, (key, encoded) in enumerate(_encode_all(session, examples), 1):
        session.cache[key] = encoded
        if done % 16 == 0 or done == len(examples):
            yield Progress("audio_features", done, len(examples))
            if should_cancel is not None and should_cancel():
                raise Cancelled()
    session.decoded = None  # every kept file has been taken; drop the store itself


def _encode_all(session: Session, examples: list[Example]) -> Iterator[tuple[tuple, Encoded]]:
    """Each example once, decoding each audio file once; clips go to the encoder in groups."""
    pending: list[tuple[Example, np.ndarray]] = []
    for file, group in groupby(sorted(examples, key=lambda ex: str(ex.audio)), key=lambda ex: ex.audio):
        kept = session.decoded.take(file) if session.decoded is not None else None
        samples = kept if kept is not None else decode_audio(file)
        pending += [(example, example.clip(samples)) for example in group]
        if len(pending) >= ENCODE_GROUP:
            yield from _encode_group(session, pending)
            pending = []
    yield from _encode_group(session, pending)


def _encode_group(
    session: Session, pending: list[tuple[Example, np.ndarray]]
) -> Iterator[tuple[tuple, Encoded]]:
    rows = session.encoder.encode_many([clip for _, clip in pending])
    for (example, _), encoded in zip(pending, rows, strict=True):
        yield example.key(), session.builder.encode(example, encoded)
