"""Min/max peaks of a recording at every zoom: a pyramid computed once per recording and cached.

Level 0 holds the minimum and maximum of each block of ``BLOCK`` samples; each next level halves
the one below (min of mins, max of maxes) until at most ``TOP_PAIRS`` pairs remain. Values are
stored as int16 (full scale ``SCALE``) rounded outwards, so a peak never looks smaller than it is:
a 3-hour recording at 16 kHz (172.8 M samples) takes about 5.4 MB, all levels together.

``PeaksPyramid.range(start_s, end_s, columns)`` gives one (min, max) pair per screen column from
the level just finer than a column. When the view is finer than one block, the decoded samples
(``with_samples``) give the detail; without them level 0 is stretched.

No Qt here: the waveform widget, the CLI and the tests share this module.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.errors import CancelledError

BLOCK = 256  # samples per level-0 pair: 16 ms at 16 kHz
TOP_PAIRS = 256  # the coarsest level has at most this many pairs
SCALE = 32767  # int16 full scale: sample value 1.0
FORMAT_VERSION = 1
CHUNK_BLOCKS = 4096  # blocks per numpy pass in compute(): 1 M samples, bounded temporaries

ProgressFn = Callable[[float, float | None], None]  # (seconds done, total seconds), as decode_audio
CancelFn = Callable[[], bool]


class PeaksCacheError(ValueError):
    """A cache file that is not a readable peaks pyramid: the caller recomputes it."""


def level_lengths(n_samples: int, block: int = BLOCK, top_pairs: int = TOP_PAIRS) -> list[int]:
    """How many pairs each level holds for a recording of ``n_samples``."""
    lengths = [-(-n_samples // block)]
    while lengths[-1] > top_pairs:
        lengths.append(-(-lengths[-1] // 2))
    return lengths


def pyramid_nbytes(n_samples: int, block: int = BLOCK) -> int:
    """Memory taken by the pyramid of ``n_samples``: two int16 arrays per level."""
    return sum(level_lengths(n_samples, block)) * 2 * np.dtype(np.int16).itemsize


@dataclass(frozen=True, eq=False)
class PeaksPyramid:
    rate: int
    n_samples: int
    block: int
    levels: tuple[tuple[np.ndarray, np.ndarray], ...]  # (mins, maxs) int16 per level, finest first
    samples: np.ndarray | None = None  # optional float32 detail for views finer than one block
    detail: SpanReader | None = None  # or where to read that detail from (a recording on disk)

    @property
    def duration(self) -> float:
        return self.n_samples / self.rate

    @property
    def nbytes(self) -> int:
        """Memory held by the levels (not the optional samples, which belong to the caller)."""
        return sum(lo.nbytes + hi.nbytes for lo, hi in self.levels)

    def pair_seconds(self, level: int) -> float:
        """Time covered by one pair of ``level``."""
        return self.block * 2**level / self.rate

    def with_samples(self, samples: np.ndarray | None) -> PeaksPyramid:
        """The same pyramid, using ``samples`` (the decoded recording) for the finest zoom."""
        if samples is not None and len(samples) != self.n_samples:
            raise ValueError(f"{len(samples)} samples given for a pyramid of {self.n_samples}")
        return replace(self, samples=samples)

    def with_detail(self, recording) -> PeaksPyramid:
        """The same pyramid, reading the finest zoom's samples from ``recording`` (``span(start_s,
        end_s)``, e.g. a FileRecording) a stretch at a time instead of holding them all."""
        return replace(self, samples=None, detail=SpanReader(recording, self.rate))

    def level_for(self, seconds_per_column: float) -> int:
        """The coarsest level whose pairs are no longer than a column; -1 when even level 0 is."""
        ratio = seconds_per_column * self.rate / self.block
        if ratio < 1:
            return -1
        return min(int(np.floor(np.log2(ratio))), len(self.levels) - 1)

    def range(self, start_s: float, end_s: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
        """``columns`` (min, max) float32 pairs in [-1, 1] covering ``start_s``..``end_s`` evenly.

        Column i covers [start + i·w, start + (i+1)·w) with w = (end − start) / columns; its pair
        includes every stored pair that overlaps it. Columns outside the recording are 0.
        """
        if columns <= 0 or not end_s > start_s:
            raise ValueError(f"need columns > 0 and end > start, got {columns}, {start_s}..{end_s}")
        per_column = (end_s - start_s) / columns
        level = self.level_for(per_column)
        if level < 0 and self.samples is None and self.detail is not None:
            origin, piece = self.detail.samples_around(start_s, end_s)
            unit = 1 / self.rate
            mins, maxs = _reduce(piece, piece, start_s / unit, per_column / unit, columns, origin)
            return mins.astype(np.float32), maxs.astype(np.float32)
        if level < 0 and self.samples is not None:
            unit, lo, hi, scale = 1 / self.rate, self.samples, self.samples, 1.0
        else:
            level = max(level, 0)
            unit, scale = self.pair_seconds(level), float(SCALE)
            lo, hi = self.levels[level]
        mins, maxs = _reduce(lo, hi, start_s / unit, per_column / unit, columns)
        return (mins / scale).astype(np.float32), (maxs / scale).astype(np.float32)

    def save(self, path: str | Path) -> None:
        """Write the pyramid to ``path`` (an uncompressed .npz), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = np.array([FORMAT_VERSION, self.rate, self.n_samples, self.block], dtype=np.int64)
        mins = np.concatenate([lo for lo, _ in self.levels])
        maxs = np.concatenate([hi for _, hi in self.levels])
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, meta=meta, mins=mins, maxs=maxs)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> PeaksPyramid:
        """Read a pyramid written by ``save``; PeaksCacheError when the file is not one."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta, mins, maxs = data["meta"], data["mins"], data["maxs"]
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise PeaksCacheError(f"{path}: not a peaks cache ({exc})") from exc
        if meta.shape != (4,) or int(meta[0]) != FORMAT_VERSION:
            raise PeaksCacheError(f"{path}: peaks cache of another version")
        _, rate, n_samples, block = (int(v) for v in meta)
        lengths = level_lengths(n_samples, block)
        sizes_ok = len(mins) == len(maxs) == sum(lengths)
        if mins.dtype != np.int16 or maxs.dtype != np.int16 or not sizes_ok:
            raise PeaksCacheError(f"{path}: peaks cache is damaged")
        cuts = np.cumsum(lengths)[:-1]
        levels = tuple(zip(np.split(mins, cuts), np.split(maxs, cuts), strict=True))
        return cls(rate, n_samples, block, levels)

    @classmethod
    def compute(
        cls,
        samples: np.ndarray,
        rate: int,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
        block: int = BLOCK,
    ) -> PeaksPyramid:
        """The pyramid of mono float samples; ``progress(seconds_done, total_seconds)`` per chunk.

        ``should_cancel`` is polled per chunk; when true, CancelledError stops the work.
        """
        builder = PeaksBuilder(rate, block)
        total = len(samples) / rate
        for chunk in _chunks(samples, block * CHUNK_BLOCKS):
            if should_cancel is not None and should_cancel():
                raise CancelledError("Computing the waveform was cancelled.")
            builder.add(chunk)
            if progress is not None:
                progress(builder.n_samples / rate, total)
        return builder.finish()


class SpanReader:
    """A recording's samples around a view, read from it a stretch at a time; the last stretch is
    kept, so repainting the same view (or panning within it) reads nothing again."""

    def __init__(self, recording, rate: int):
        self.recording, self.rate = recording, rate
        self._first, self._piece = 0, np.zeros(0, np.float32)

    def samples_around(self, start_s: float, end_s: float) -> tuple[int, np.ndarray]:
        """(index of the first sample, samples) covering ``start_s``..``end_s`` and a little more."""
        first = int(np.floor(start_s * self.rate)) - 1
        last = min(int(np.ceil(end_s * self.rate)) + 1, round(self.recording.duration_s * self.rate))
        if not (self._first <= max(first, 0) and last <= self._first + len(self._piece)):
            margin = last - first  # read a view's width either side: panning reads nothing new
            self._first = max(first - margin, 0)
            self._piece = self.recording.span(self._first / self.rate, (last + margin) / self.rate)
        return self._first, self._piece


def load_or_compute(
    path: str | Path, samples: np.ndarray, rate: int, progress: ProgressFn | None = None
) -> PeaksPyramid:
    """The cached pyramid at ``path`` if it matches the samples, else computed and cached there."""
    try:
        pyramid = PeaksPyramid.load(path)
        if pyramid.n_samples == len(samples) and pyramid.rate == rate:
            return pyramid.with_samples(samples)
    except PeaksCacheError:
        pass  # missing or stale: recompute below
    pyramid = PeaksPyramid.compute(samples, rate, progress)
    pyramid.save(path)
    return pyramid.with_samples(samples)


class PeaksBuilder:
    """Builds a pyramid from samples fed in chunks of any size (e.g. while a file decodes)."""

    def __init__(self, rate: int, block: int = BLOCK):
        self.rate = rate
        self.block = block
        self.n_samples = 0
        self._mins: list[np.ndarray] = []
        self._maxs: list[np.ndarray] = []
        self._carry = np.zeros(0, dtype=np.float32)  # fewer than one block, waiting for more

    def add(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32)
        self.n_samples += len(samples)
        if len(self._carry):
            samples = np.concatenate([self._carry, samples])
        whole = len(samples) // self.block * self.block
        if whole:
            self._add_blocks(samples[:whole].reshape(-1, self.block))
        self._carry = samples[whole:].copy()

    def finish(self) -> PeaksPyramid:
        if len(self._carry):
            self._add_blocks(self._carry.reshape(1, -1))
            self._carry = self._carry[:0]
        level0 = _concat(self._mins), _concat(self._maxs)
        levels = [level0]
        while len(levels[-1][0]) > TOP_PAIRS:
            levels.append(_halve(*levels[-1]))
        return PeaksPyramid(self.rate, self.n_samples, self.block, tuple(levels))

    def _add_blocks(self, blocks: np.ndarray) -> None:
        self._mins.append(quantize_down(blocks.min(axis=1)))
        self._maxs.append(quantize_up(blocks.max(axis=1)))


def quantize_down(values: np.ndarray) -> np.ndarray:
    """Float samples to int16, rounded towards −∞ (a minimum never shrinks)."""
    return np.clip(np.floor(values * SCALE), -SCALE - 1, SCALE).astype(np.int16)


def quantize_up(values: np.ndarray) -> np.ndarray:
    """Float samples to int16, rounded towards +∞ (a maximum never shrinks)."""
    return np.clip(np.ceil(values * SCALE), -SCALE - 1, SCALE).astype(np.int16)


def _chunks(samples: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(samples), size):
        yield samples[start : start + size]


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def _halve(mins: np.ndarray, maxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The next level: each pair merges two neighbours (an odd last pair stands alone)."""
    even = len(mins) // 2 * 2
    lo = np.minimum(mins[0:even:2], mins[1:even:2])
    hi = np.maximum(maxs[0:even:2], maxs[1:even:2])
    if even < len(mins):
        lo, hi = np.append(lo, mins[-1]), np.append(hi, maxs[-1])
    return lo, hi


def _reduce(
    lo: np.ndarray, hi: np.ndarray, first: float, per_column: float, columns: int, origin: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Min of ``lo`` and max of ``hi`` over the units overlapping each column.

    Units are array indices (``lo[0]`` is unit ``origin``); column i spans [first + i·per_column, first + (i+1)·per_column).
    Column i overlaps units [a_i, b_i) with a_i = floor(left edge), b_i = ceil(right edge); that is
    [a_i, a_{i+1}) (one reduceat, which gives lo[a_i] when a_i == a_{i+1}) plus unit b_i − 1.
    """
    n = len(lo)
    edges = first + per_column * np.arange(columns + 1, dtype=np.float64)
    a = np.floor(edges[:-1]) - origin
    b = np.maximum(np.ceil(edges[1:]) - origin, a + 1)
    inside = (b > 0) & (a < n)
    if n == 0 or not inside.any():
        return np.zeros(columns, np.float64), np.zeros(columns, np.float64)
    starts = np.clip(a, 0, n - 1).astype(np.intp)
    lasts = np.clip(b, 1, n).astype(np.intp) - 1
    base, stop = starts[0], lasts[-1] + 1
    offsets = starts - base
    mins = np.minimum(np.minimum.reduceat(lo[base:stop], offsets), lo[lasts]).astype(np.float64)
    maxs = np.maximum(np.maximum.reduceat(hi[base:stop], offsets), hi[lasts]).astype(np.float64)
    mins[~inside] = 0.0
    maxs[~inside] = 0.0
    return mins, maxs
