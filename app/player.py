"""Plays the open recording and reports where it is, for the playhead and click-to-seek.

The recording is read as it plays (``engine.audio.playback.SpanFeeder``: a file is sought and
decoded a few seconds ahead), so a ten-hour recording plays from any point without its samples
in memory. Audio goes out through sounddevice. Without an output device the player still keeps time
(a clock, silent) so that seeking and the playhead work, and it says so once.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.audio import SAMPLE_RATE
from engine.audio.playback import SpanFeeder
from engine.audio.recording import ArrayRecording, Recording
from engine.errors import HeronError

TICK_MS = 33  # playhead updates ~30 times a second


class RecordingPlayer(QObject):
    position_changed = Signal(float)  # seconds
    playing_changed = Signal(bool)
    notice = Signal(str)  # something the user should know (no output device, …)

    def __init__(self, parent: QObject | None = None, device=None):
        super().__init__(parent)
        self.device = device
        self.recording: Recording = ArrayRecording(np.zeros(0, np.float32))
        self._feeder: SpanFeeder | None = None  # reads ahead while the device plays; guarded by _lock
        self._frame = 0  # next sample to hand to the device; guarded by _lock (the audio thread reads it)
        self._seek_frame = 0  # where playback was last started or moved to
        self._lock = threading.Lock()
        self._stream = None
        self._clock_started: tuple[float, int] | None = None  # silent mode: (monotonic, frame)
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._tick)

    # -- state ---------------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return self.recording.duration_s

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def position(self) -> float:
        with self._lock:
            if self._clock_started is not None:
                started, frame = self._clock_started
                return min((frame + (time.monotonic() - started) * SAMPLE_RATE) / SAMPLE_RATE, self.duration)
            # The device holds what was handed to it for its latency: the listener is that far behind.
            latency = self._stream.latency * SAMPLE_RATE if self._stream is not None else 0
            return max(self._seek_frame, self._frame - latency) / SAMPLE_RATE

    # -- control -------------------------------------------------------------------------------
    def set_samples(self, samples: np.ndarray) -> None:
        self.set_recording(ArrayRecording(samples))

    def set_recording(self, recording: Recording) -> None:
        """Play ``recording`` (samples in memory, or a FileRecording read as it plays) from its start."""
        self.pause()
        self.recording = recording
        self.seek(0.0)

    def seek(self, seconds: float) -> None:
        frame = int(min(max(seconds, 0.0), self.duration) * SAMPLE_RATE)
        feeder = self._feeder_at(frame) if self._feeder is not None else None  # playing: read from there
        with self._lock:
            self._frame = self._seek_frame = frame
            if self._clock_started is not None:
                self._clock_started = (time.monotonic(), frame)
            old, self._feeder = self._feeder, feeder or self._feeder
        if feeder is not None and old is not None:
            old.close()
        self.position_changed.emit(frame / SAMPLE_RATE)

    def play(self) -> None:
        if self.playing or not self.duration:
            return
        if self.position() >= self.duration:
            self.seek(0.0)
        if not self._open_stream():
            with self._lock:
                self._clock_started = (time.monotonic(), self._frame)
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if not self.playing:
            return
        frame = int(self.position() * SAMPLE_RATE)
        self._close_stream()
        with self._lock:
            self._clock_started = None
            self._frame = self._seek_frame = frame
        self._timer.stop()
        self.playing_changed.emit(False)
        self.position_changed.emit(frame / SAMPLE_RATE)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def close(self) -> None:
        self.pause()

    # -- internals -----------------------------------------------------------------------------
    def _tick(self) -> None:
        now = self.position()
        self.position_changed.emit(now)
        if now >= self.duration:
            self.pause()

    def _feeder_at(self, frame: int) -> SpanFeeder | None:
        try:
            return SpanFeeder(self.recording, frame)
        except HeronError as exc:  # the file changed or went away since it was opened
            self.notice.emit(exc.message)
            return None

    def _open_stream(self) -> bool:
        feeder = self._feeder_at(self._frame)
        if feeder is None:
            return False
        with self._lock:
            self._feeder = feeder
        try:
            import sounddevice

            self._stream = sounddevice.OutputStream(
                samplerate=SAMPLE_RATE, channels=1, dtype="float32", device=self.device,
                blocksize=512, callback=self._fill,
            )  # fmt: skip
            self._stream.start()
            return True
        except Exception as exc:  # no PortAudio, no device, device busy: keep time silently
            self._stream = None
            self._close_stream()  # and stop reading ahead
            self.notice.emit(
                f"No sound output ({exc}); playback runs silently. Check the output device in Settings."
            )
            return False

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
        with self._lock:
            feeder, self._feeder = self._feeder, None
        if feeder is not None:
            feeder.close()

    def _fill(self, out: np.ndarray, frames: int, _time, _status) -> None:
        with self._lock:
            chunk = self._feeder.read(frames) if self._feeder is not None else np.zeros(0, np.float32)
            self._frame += len(chunk)
        out[: len(chunk), 0] = chunk
        out[len(chunk) :, 0] = 0.0
