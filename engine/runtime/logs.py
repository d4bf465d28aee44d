"""Logging for Heron's child processes (the engine, the trainer): a rotating file each.

What native libraries print (bitsandbytes, CUDA, a crash) goes to a file too, never to the
caller's terminal, and the libraries' own progress bars and notices are silenced.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_BYTES = 2_000_000
LOG_BACKUPS = 3


def setup_logging(log_dir: str | None, name: str) -> None:
    """``name``.log in ``log_dir``, and what native libraries print in ``name``-output.log."""
    if not log_dir:
        return
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    log_path = Path(log_dir) / f"{name}.log"
    _redirect_output(log_path.with_name(f"{name}-output.log"))
    handler = RotatingFileHandler(log_path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def quiet_libraries() -> None:
    """Library progress bars and notices are not for the user's terminal."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _redirect_output(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
