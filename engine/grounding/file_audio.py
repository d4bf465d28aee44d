"""A recording on disk as an ``AudioSource``: each stretch asked for is decoded alone.

The command line has the recording's path but not its samples (the engine decoded them in its
own process). Snapping reads a dozen seconds around each anchor, so those are sought and decoded,
never the whole file: a step in the third hour of a recording costs what one in the first does.
Times count from the stream's first sample, as ``decode_audio`` counts them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soxr

from engine.audio import probe_audio
from engine.audio.mixdown import mono_blocks
from engine.audio.probe import open_audio
from engine.grounding.source import RATE, place

SEEK_MARGIN_S = 0.5  # decode this far either side: seeks land early, the resampler needs a run-up


class FileAudio:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.duration_s = probe_audio(self.path).duration_s or 0.0

    def read(self, start_s: float, end_s: float) -> np.ndarray:
        count = round((end_s - start_s) * RATE)
        low, high = max(start_s, 0.0), min(end_s, self.duration_s)
        if high <= low:
            return np.zeros(count, np.float32)
        first_s, samples = self._decode(low, high)
        skip = round((low - first_s) * RATE)
        piece = samples[max(skip, 0) : max(skip, 0) + round((high - low) * RATE)]
        return place(piece, round((low - start_s) * RATE) + max(-skip, 0), count)

    def _decode(self, low: float, high: float) -> tuple[float, np.ndarray]:
        """(the time of the first sample, 16 kHz mono samples from there past ``high``)."""
        with open_audio(self.path) as opened:
            stream = opened.stream
            base = float(stream.time_base)
            origin = (stream.start_time or 0) * base
            opened.container.seek(max(int((low - SEEK_MARGIN_S + origin) / base), 0), stream=stream)
            frames, first_s = [], None
            for frame in opened.container.decode(stream):
                at = (frame.pts or 0) * base - origin if frame.pts is not None else None
                first_s = at if first_s is None else first_s
                frames.append(frame)
                if at is not None and at > high + SEEK_MARGIN_S:  # and past it, clear of the filter's edge
                    break
        blocks = list(mono_blocks(frames))
        if not blocks:
            return low, np.zeros(0, np.float32)
        mono = np.concatenate([b.samples for b in blocks])
        rate = blocks[0].rate
        resampled = mono if rate == RATE else soxr.resample(mono, rate, RATE).astype(np.float32)
        return (first_s or 0.0), resampled
