"""The decoded samples, written block by block into one preallocated array.

Collecting blocks in a list and concatenating them at the end would hold the audio twice at the peak
(1.4 GB for three hours at 16 kHz). Instead the array is sized from the file's stated length and
grown or shrunk in place with ``ndarray.resize``: for large arrays that is a ``realloc``, which the
C library does by remapping pages, not by copying them. Pages of ``np.empty`` are only touched,
hence resident, once written.
"""

from __future__ import annotations

import numpy as np

_GROWTH = 1.5  # an estimate that was short is usually short by a little, but be safe for bad ones
_MIN_CAPACITY = 160_000  # samples: 10 s at the model's 16 kHz (resample.SAMPLE_RATE imports this module)


class OutputBuffer:
    def __init__(self, expected_samples: int | None):
        self._data = np.empty(max(expected_samples or 0, _MIN_CAPACITY), np.float32)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def write(self, samples: np.ndarray) -> None:
        end = self._size + len(samples)
        if end > len(self._data):
            self._data.resize(max(end, int(len(self._data) * _GROWTH)), refcheck=False)
        self._data[self._size : end] = samples
        self._size = end

    def finish(self, limit: int | None = None) -> np.ndarray:
        """The samples written (at most ``limit``), in an array that owns exactly that much memory."""
        self._size = min(self._size, limit) if limit is not None else self._size
        data, self._data = self._data, np.empty(0, np.float32)
        data.resize(self._size, refcheck=False)
        return data
