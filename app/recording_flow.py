"""The recording the window shows, which is always the one the next question is about.

Opening one clears the old at once (no waveform of a recording the next question will not
carry); a failed open, a Stop while opening, or a conversation whose file is gone leave the
window showing no recording, and the session about none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Slot

from app import paths
from app.recording_loader import RecordingLoader, grounding_source
from app.settings import add_recent_file
from engine.timefmt import clock

QUEUED = Qt.ConnectionType.QueuedConnection


class RecordingFlow(QObject):
    def __init__(self, controller):
        super().__init__(controller)
        self.controller = controller
        self.window = controller.window
        self.loader = RecordingLoader(paths.cache_dir(), self)
        self.loading: str | None = None  # the recording being opened
        self.loader.progress.connect(self._progress, QUEUED)
        self.loader.loaded.connect(self._loaded, QUEUED)
        self.loader.failed.connect(self._failed, QUEUED)

    def load(self, path: str) -> None:
        self.show_none()
        self.window.recording_label.setText(f"Opening {Path(path).name}…")
        self.loading = path
        self.loader.open(path)
        self.controller.turns.update_controls()

    def reload(self, recording: str | None) -> None:
        """A reopened conversation's recording, or none (with a notice) when its file is gone."""
        self.cancel()  # a recording still opening was the previous conversation's
        if recording and Path(recording).is_file():
            self.load(recording)
            return
        self.show_none()
        if recording:
            self.window.banner.show_message(
                f"The recording of this conversation is no longer at {recording}."
            )

    def cancel(self) -> None:
        """Stop: a recording being opened is not opened (the window shows none)."""
        if self.loading is not None:
            self.loader.cancel()
            self.loading = None
            self.show_none()

    def show_none(self) -> None:
        """No recording on screen, none in the next question (a failed open, a file gone)."""
        controller = self.controller
        controller.session.set_recording(None)
        controller.player.set_samples(np.zeros(0, np.float32))
        controller.snapper.use(None)
        self.window.waveform.clear()
        self.window.recording_label.setText("No recording open")

    @Slot(str, float, object)
    def _progress(self, label: str, done: float, total) -> None:
        self.window.progress.show_progress(label, done, total)

    @Slot(str, object, object)
    def _loaded(self, path: str, recording, peaks) -> None:
        if path != self.loading:
            return  # a later open or a Stop superseded it
        self.loading = None
        controller = self.controller
        duration_s = recording.duration_s  # samples in memory, or a long file read as needed
        controller.session.set_recording(path, duration_s)
        controller.player.set_recording(recording)
        controller.snapper.use(grounding_source(recording), prepare=True)
        self.window.waveform.set_peaks(peaks)
        self.window.progress.hide()
        self.window.recording_label.setText(f"{Path(path).name} · {clock(duration_s)}")
        self.window.set_recent(add_recent_file(controller.qsettings, path))
        controller.ground_steps()
        controller.turns.update_controls()

    @Slot(str, str)
    def _failed(self, path: str, message: str) -> None:
        if path != self.loading:
            return
        self.loading = None
        self.window.progress.hide()
        self.show_none()
        self.window.banner.show_message(message)
        self.controller.turns.update_controls()
