"""Resumable checkpoints, written so that a kill at any moment leaves a usable one.

The checkpoint is a folder ``OUT/checkpoint`` holding ``trainer_state.pt`` (adapter and
optimizer tensors, scheduler, random states, position in the data order, early-stopping
state) and ``config.json`` (for people). It is written into a temporary folder, then
swapped in by renames: the previous checkpoint is renamed aside first and deleted last, so
a kill between the renames leaves ``checkpoint.old``, which loading falls back to.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from engine.files import FileRefusedError, read_limited
from engine.trainer.errors import TrainingError

NAME = "checkpoint"
STATE_FILE = "trainer_state.pt"
MAX_SUMMARY_BYTES = 2**20  # config.json holds the run's settings: a few KB


def checkpoint_dir(out: Path) -> Path:
    return Path(out) / NAME


def has_checkpoint(out: Path) -> bool:
    return _readable_dir(Path(out)) is not None


def save_checkpoint(out: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically as ``out/checkpoint``; return that folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{NAME}-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    import torch  # here, not above: the app asks has_checkpoint / checkpoint_summary without torch

    _write(tmp / STATE_FILE, lambda f: torch.save(state, f))
    summary = {k: v for k, v in state.items() if isinstance(v, int | float | str | dict) and k != "optimizer"}
    _write(tmp / "config.json", lambda f: f.write(json.dumps(summary, indent=2, default=str).encode()))
    _fsync_dir(tmp)
    final, old = checkpoint_dir(out), out / f"{NAME}.old"
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    _fsync_dir(out)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(out: Path) -> dict[str, Any] | None:
    """The newest complete checkpoint in ``out``, or None."""
    folder = _readable_dir(Path(out))
    if folder is None:
        return None
    import torch

    try:
        return torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged beyond what the atomic write guards against
        raise TrainingError(
            f"The checkpoint in {folder} cannot be read ({exc.__class__.__name__}): "
            "delete it, or start over with --overwrite."
        ) from exc


def checkpoint_summary(out: Path) -> dict[str, Any] | None:
    """The readable part of the checkpoint in ``out`` (its ``config.json``: the run's settings under
    "config", its position under "state"), or None when there is none or it cannot be read."""
    folder = _readable_dir(Path(out))
    if folder is None:
        return None
    try:
        return json.loads(read_limited(folder / "config.json", MAX_SUMMARY_BYTES))
    except (FileRefusedError, OSError, ValueError):
        return None


def remove_checkpoints(out: Path) -> None:
    out = Path(out)
    for path in (checkpoint_dir(out), out / f"{NAME}.old", *out.glob(f".{NAME}-tmp-*")):
        shutil.rmtree(path, ignore_errors=True)


def _readable_dir(out: Path) -> Path | None:
    for folder in (checkpoint_dir(out), out / f"{NAME}.old"):
        if (folder / STATE_FILE).is_file():
            return folder
    return None


def _write(path: Path, writer) -> None:
    with open(path, "wb") as f:
        writer(f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
