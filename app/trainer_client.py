"""The app's side of the training process (engine/trainer/worker.py).

Training runs in its own process, like the model engine: the window stays responsive, and a
crash or an out-of-memory kill there ends the run, not the app. ``events`` yields the run's
events until ``Done`` or ``Error``; a process that dies without saying so gives one
``Error("training_crashed", …)``. ``stop`` asks for a safe stop (a checkpoint, then ``Done``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from app.child_process import ChildProcess
from engine.events import Done, Error, Event

_POLL_S = 0.05


class TrainingClient:
    def __init__(self, log_dir: str | None = None):
        self.log_dir = log_dir
        self.child = ChildProcess("heron-trainer")

    @property
    def pid(self) -> int | None:
        return self.child.pid

    def is_running(self) -> bool:
        return self.child.is_running()

    def start(self, settings: dict[str, Any], resume: str) -> None:
        """Start a run of ``settings`` (TrainConfig fields); ``resume``: auto, require or never."""
        from engine.trainer.worker import serve

        if self.is_running():
            raise RuntimeError("a training run is already going")
        self.child.spawn(serve, settings, resume, self.log_dir)

    def events(self) -> Iterator[Event]:
        """The run's events, ending with ``Done`` or ``Error``."""
        while True:
            event = self._receive()
            if event is None:
                continue
            yield event
            if isinstance(event, Done | Error):
                self._finish()
                return

    def stop(self) -> None:
        """Stop after the current step, writing a checkpoint first; the run then ends with Done."""
        if self.child.conn is not None:
            with contextlib.suppress(OSError):  # already gone: events() reports how
                self.child.conn.send("stop")

    def kill(self) -> None:
        """End the process at once (the app is closing and cannot wait); the last checkpoint stays."""
        if self.is_running():
            self.child.process.kill()
            self.child.process.join(5.0)

    def _receive(self) -> Event | None:
        try:
            if self.child.conn.poll(_POLL_S):
                return self.child.conn.recv()
        except (EOFError, OSError):
            return self._crashed()
        return None if self.child.process.is_alive() else self._crashed()

    def _crashed(self) -> Error:
        how = self.child.exit_description()
        return Error("training_crashed", f"The training process stopped unexpectedly ({how}).")

    def _finish(self) -> None:
        if self.child.process is not None:
            self.child.process.join(10.0)
        self.child.discard()
