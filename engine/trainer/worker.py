"""The training process the app starts: runs ``train`` and streams its events back.

The app (``app.trainer_client``) starts ``serve`` in a child process, so that training never
freezes the window and a crash or an out-of-memory kill there never takes the window down.
Messages in: ``"stop"`` (stop after the current step, with a checkpoint). Out: each event,
ending with ``Done`` or ``Error``. If the app goes away, training stops the same safe way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any

from engine.runtime.failures import guarded
from engine.runtime.logs import quiet_libraries, setup_logging

log = logging.getLogger("heron.trainer")
OUT_OF_MEMORY = "Training ran out of memory: lower the batch size, or use nf4 on a GPU."


def serve(conn, settings: dict[str, Any], resume: str, log_dir: str | None = None) -> None:
    """Entry point of the training process: ``settings`` are TrainConfig fields."""
    setup_logging(log_dir, "trainer")
    quiet_libraries()
    stop = threading.Event()
    threading.Thread(target=_read_messages, args=(conn, stop), daemon=True).start()
    log.info("training started, pid %d, resume=%s", os.getpid(), resume)
    for event in guarded(_run(settings, resume, stop), log, "training", OUT_OF_MEMORY):
        with contextlib.suppress(OSError):  # the app went away: the stop flag is set, the run ends soon
            conn.send(event)
    log.info("training process ending")


def _run(settings: dict[str, Any], resume: str, stop: threading.Event):
    from engine.trainer.config import TrainConfig
    from engine.trainer.loop import train

    config = TrainConfig().with_overrides(settings).validate()
    yield from train(config, should_cancel=stop.is_set, resume=resume)


def _read_messages(conn, stop: threading.Event) -> None:
    try:
        while conn.recv() != "stop":
            pass
    except (EOFError, OSError):
        pass  # the app is gone: stop as if asked
    stop.set()
