"""A recording's samples from any point on, read a few seconds ahead of whoever plays them.

Playing a ten-hour recording must not need its 2.3 GB of samples: ``SpanFeeder`` reads the
recording (``Recording.span``: a file is sought and only that stretch decoded) a chunk at a time in
a worker thread, a few chunks ahead, and hands out exactly the samples asked for. Seeking is a new
feeder. No Qt here: the window's player and the tests share it.
"""

from __future__ import annotations

import queue
import threading

import numpy as np

from engine.audio.recording import Recording
from engine.audio.resample import SAMPLE_RATE

CHUNK_FRAMES = 2 * SAMPLE_RATE  # samples per read: a couple of seconds
AHEAD = 3  # chunks read ahead: ~6 s, so a busy machine does not starve the sound device
FIRST_FRAMES = SAMPLE_RATE // 2  # read at once, in the caller's thread (the window's): short, so quick
_END = np.zeros(0, np.float32)


class SpanFeeder:
    def __init__(self, recording: Recording, start_frame: int, chunk: int = CHUNK_FRAMES, ahead: int = AHEAD):
        self._recording, self._chunk = recording, chunk
        self._total = round(recording.duration_s * SAMPLE_RATE)
        self._ready: queue.Queue[np.ndarray] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        first = min(FIRST_FRAMES, chunk)
        self._current, self._offset, self.ended = self._read(start_frame, first), 0, False  # sound at once
        self._worker = threading.Thread(
            target=self._work, args=(start_frame + first,), name="heron-playback-read", daemon=True
        )
        self._worker.start()

    def read(self, frames: int) -> np.ndarray:
        """Up to ``frames`` samples, never waiting: fewer when the reader is behind or at the end."""
        parts, needed = [], frames
        while needed and not self.ended:
            if self._offset >= len(self._current):
                try:
                    self._current, self._offset = self._ready.get_nowait(), 0
                except queue.Empty:
                    break
                self.ended = self._current is _END
                continue
            piece = self._current[self._offset : self._offset + needed]
            parts.append(piece)
            self._offset += len(piece)
            needed -= len(piece)
        return np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else _END)

    def close(self) -> None:
        self._stop.set()
        self._worker.join()

    def _read(self, frame: int, frames: int | None = None) -> np.ndarray:
        end = min(frame + (frames or self._chunk), self._total)
        if frame >= end:
            return _END
        return self._recording.span(frame / SAMPLE_RATE, end / SAMPLE_RATE)

    def _work(self, frame: int) -> None:
        while not self._stop.is_set():
            try:
                piece = self._read(frame)
            except Exception:  # the file gone or damaged mid-way: playback ends there
                piece = _END
            while not self._stop.is_set():
                try:
                    self._ready.put(piece, timeout=0.05)
                    break
                except queue.Full:
                    continue
            if piece is _END:
                return
            frame += self._chunk
