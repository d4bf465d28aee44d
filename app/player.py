"""Plays the open recording and reports where it is, for the playhead and click-to-seek.

Audio goes out through sounddevice. Without an output device the player still keeps time
(a clock, silent) so that seeking and the playhead work, and it says so once.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.audio import SAMPLE_RATE

TICK_MS = 33  # playhead updates ~30 times a second


class RecordingPlayer(QObject):
    position_changed = Signal(float)  # seconds
    playing_changed = Signal(bool)
    notice = Signal(str)  # something the user should know (no output device, …)

    def __init__(self, parent: QObject | None = None, device=None):
        super().__init__(parent)
        self.device = device
        self.samples = np.zeros(0, np.float32)
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
        return len(self.samples) / SAMPLE_RATE

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
        self.pause()
        self.samples = samples
        self.seek(0.0)

    def seek(self, seconds: float) -> None:
        frame = int(min(max(seconds, 0.0), self.duration) * SAMPLE_RATE)
        with self._lock:
            self._frame = self._seek_frame = frame
            if self._clock_started is not None:
                self._clock_started = (time.monotonic(), frame)
        self.position_changed.emit(frame / SAMPLE_RATE)

    def play(self) -> None:
        if self.playing or not len(self.samples):
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

    def _open_stream(self) -> bool:
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
            self.notice.emit(
                f"No sound output ({exc}); playback runs silently. Check the output device in Settings."
            )
            return False

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def _fill(self, out: np.ndarray, frames: int, _time, _status) -> None:
        with self._lock:
            start = self._frame
            chunk = self.samples[start : start + frames]
            self._frame = start + len(chunk)
        out[: len(chunk), 0] = chunk
        out[len(chunk) :, 0] = 0.0
