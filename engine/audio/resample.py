"""Stream mono blocks at any rate to 16 kHz with soxr, straight into the output buffer."""

from __future__ import annotations

import numpy as np
import soxr

from engine.audio.output import OutputBuffer

SAMPLE_RATE = 16000  # what AF-Next's feature extractor expects
QUALITY = "HQ"  # soxr's default; as fast here as MQ/LQ, and cheap next to decoding (see bench/ingest.py)
_EMPTY = np.empty(0, np.float32)


class Resampler:
    def __init__(self, out: OutputBuffer, quality: str = QUALITY):
        self._out, self._quality = out, quality
        self._rate: int | None = None
        self._stream: soxr.ResampleStream | None = None

    def write(self, samples: np.ndarray, rate: int) -> None:
        if rate != self._rate:  # the first block, or a chained file that changes rate mid-way
            self.close()
            self._rate = rate
            if rate != SAMPLE_RATE:
                self._stream = soxr.ResampleStream(
                    rate, SAMPLE_RATE, 1, dtype="float32", quality=self._quality
                )
        if self._stream is None:
            self._out.write(samples)
        else:
            self._out.write(self._stream.resample_chunk(samples))

    def close(self) -> None:
        """Flush the filter's tail; call once after the last block."""
        if self._stream is not None:
            self._out.write(self._stream.resample_chunk(_EMPTY, last=True))
            self._stream = None
