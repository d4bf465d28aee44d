"""Where the grounding reads audio from: any stretch of a recording, as 16 kHz mono samples.

The window has the recording in memory (``ArrayAudio``); the command line has only its file
(``engine.grounding.file_audio.FileAudio`` decodes just the stretch asked for).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import soxr

RATE = 16000


class AudioSource(Protocol):
    duration_s: float

    def read(self, start_s: float, end_s: float) -> np.ndarray:
        """``round((end_s - start_s) * RATE)`` samples at 16 kHz, zeros outside the recording."""
        ...


class ArrayAudio:
    """Samples in memory at any rate; only the stretches read are resampled."""

    def __init__(self, samples: np.ndarray, sample_rate: int = RATE):
        self.samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.rate = int(sample_rate)
        self.duration_s = len(self.samples) / self.rate

    def read(self, start_s: float, end_s: float) -> np.ndarray:
        count = round((end_s - start_s) * RATE)
        first = round(start_s * self.rate)
        last = first + round(count * self.rate / RATE)
        piece = self.samples[max(first, 0) : max(last, 0)]
        if self.rate != RATE and len(piece):
            piece = soxr.resample(piece, self.rate, RATE).astype(np.float32)
        return place(piece, round(max(-first, 0) * RATE / self.rate), count)


def place(piece: np.ndarray, offset: int, count: int) -> np.ndarray:
    """``count`` samples: zeros, with ``piece`` starting at ``offset`` (cut where it overflows)."""
    out = np.zeros(count, np.float32)
    piece = piece[: max(count - offset, 0)]
    out[offset : offset + len(piece)] = piece
    return out
