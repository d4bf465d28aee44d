"""A recording's band powers and speech probabilities, worked out once per 4-second block.

Anchors of one answer cluster in the same parts of a recording, so each block is analysed the
first time an anchor needs it and kept: the cost per anchor falls as anchors share blocks, and
a three-hour recording is never analysed beyond the parts its anchors cite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.grounding.features import HOP, RATE, WINDOW, band_powers
from engine.grounding.source import AudioSource
from engine.grounding.speech import CHUNK, speech_probabilities

FRAME_S = HOP / RATE  # 10 ms
BLOCK_FRAMES = 400  # 4 s of frames …
BLOCK_CHUNKS = BLOCK_FRAMES * HOP // CHUNK  # … and of silero's 32 ms chunks (125)
BLOCK_S = BLOCK_FRAMES * FRAME_S
WARMUP_CHUNKS = 16  # silero starts each block fresh half a second early, so its state has settled
MAX_BLOCKS = 2048  # about 2.3 hours of blocks kept (≈ 140 MB); older ones are worked out again


@dataclass(frozen=True)
class Region:
    """Frames ``start_frame`` … on the recording's 10 ms grid (frame ``i`` is centred on ``i * 10 ms``)."""

    start_frame: int
    powers: np.ndarray  # (frames, BANDS)
    speech: np.ndarray  # (frames,): silero's probability for the chunk holding each frame's centre

    @property
    def times(self) -> np.ndarray:
        return (self.start_frame + np.arange(len(self.speech))) * FRAME_S

    def frame_at(self, seconds: float) -> int:
        """The index in this region of the frame nearest ``seconds`` (clamped to the region)."""
        return int(np.clip(round(seconds / FRAME_S) - self.start_frame, 0, len(self.speech) - 1))


class Analysis:
    """The blocks analysed so far of one recording (use from one thread at a time)."""

    def __init__(self, source: AudioSource):
        self.source = source
        self.duration_s = source.duration_s
        self._blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def region(self, start_s: float, end_s: float) -> Region:
        """The frames from ``start_s`` to ``end_s``, clamped to the recording."""
        first = max(round(max(start_s, 0.0) / FRAME_S), 0)
        last = max(min(round(min(end_s, self.duration_s) / FRAME_S), self._frames() - 1), first)
        numbers = range(first // BLOCK_FRAMES, last // BLOCK_FRAMES + 1)
        for run in _runs([k for k in numbers if k not in self._blocks]):
            self._analyse(run[0], len(run))
        offset = first - numbers[0] * BLOCK_FRAMES
        powers = np.concatenate([self._blocks[k][0] for k in numbers])[offset : offset + last - first + 1]
        speech = np.concatenate([self._blocks[k][1] for k in numbers])[offset : offset + last - first + 1]
        return Region(first, powers, speech)

    def _frames(self) -> int:
        return int(self.duration_s / FRAME_S) + 1

    def _analyse(self, k: int, count: int) -> None:
        """Blocks ``k`` … ``k + count - 1``, read and analysed in one go (one call into silero)."""
        frames = count * BLOCK_FRAMES
        lead = WARMUP_CHUNKS * CHUNK  # ≥ WINDOW // 2, which the first frame's window needs
        start = k * BLOCK_FRAMES * HOP - lead  # before 0 the source gives zeros
        samples = self.source.read(start / RATE, (start + lead + (frames - 1) * HOP + WINDOW // 2) / RATE)
        speech = speech_probabilities(samples[: lead + count * BLOCK_CHUNKS * CHUNK])[WARMUP_CHUNKS:]
        speech = speech[np.arange(frames) * HOP // CHUNK]  # each frame: the chunk holding its centre
        powers = band_powers(samples[lead - WINDOW // 2 :], frames)
        for i in range(count):
            if len(self._blocks) >= MAX_BLOCKS:
                self._blocks.pop(next(iter(self._blocks)))
            part = slice(i * BLOCK_FRAMES, (i + 1) * BLOCK_FRAMES)
            self._blocks[k + i] = (powers[part], speech[part])


def _runs(numbers: list[int]) -> list[list[int]]:
    """Consecutive numbers grouped: [1, 2, 4] → [[1, 2], [4]]."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs
