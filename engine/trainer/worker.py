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
import traceback
from typing import Any

from engine.errors import HeronError
from engine.events import Error

log = logging.getLogger("heron.trainer")


def serve(conn, settings: dict[str, Any], resume: str, log_dir: str | None = None) -> None:
    """Entry point of the training process: ``settings`` are TrainConfig fields."""
    from engine.service import _quiet_libraries, _setup_logging

    _setup_logging(log_dir, "trainer")
    _quiet_libraries()
    stop = threading.Event()
    threading.Thread(target=_read_messages, args=(conn, stop), daemon=True).start()
    log.info("training started, pid %d, resume=%s", os.getpid(), resume)
    for event in _run(settings, resume, stop):
        with contextlib.suppress(OSError):  # the app went away: the stop flag is set, the run ends soon
            conn.send(event)
    log.info("training process ending")


def _run(settings: dict[str, Any], resume: str, stop: threading.Event):
    from engine.trainer.config import TrainConfig
    from engine.trainer.loop import train

    try:
        config = TrainConfig().with_overrides(settings).validate()
        yield from train(config, should_cancel=stop.is_set, resume=resume)
    except HeronError as exc:
        log.info("training failed: %s", exc)
        yield Error(exc.kind, exc.message)
    except MemoryError:
        yield Error("out_of_memory", "Training ran out of memory: lower the batch size, or use nf4 on a GPU.")
    except Exception as exc:
        log.error("unexpected training error\n%s", traceback.format_exc())
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        yield Error("internal", f"Unexpected training error ({message}). Details are in trainer.log.")


def _read_messages(conn, stop: threading.Event) -> None:
    try:
        while conn.recv() != "stop":
            pass
    except (EOFError, OSError):
        pass  # the app is gone: stop as if asked
    stop.set()
