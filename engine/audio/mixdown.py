"""Turn decoded PyAV frames into mono float32 blocks at the file's own rate.

Decoders hand out small frames (1024 samples for AAC, 1152 for MP3) in many sample formats, so the
work per frame must stay tiny: each frame is summed across channels straight into a block, reading
its planes without a copy, by an adder chosen once per sample format; the scale to [-1, 1] and the
division by the channel count are done once per block. Per frame that is one or two NumPy calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import av
import numpy as np

BLOCK_FRAMES = 1 << 16  # ~1.5 s at 44.1 kHz: few calls into soxr, little memory


@dataclass(frozen=True)
class _Format:
    dtype: type[np.generic]
    full_scale: float  # the value that maps to 1.0
    offset: float = 0.0  # unsigned formats are centred on full_scale

    @property
    def is_float(self) -> bool:
        return np.issubdtype(self.dtype, np.floating)


_FORMATS = {
    "u8": _Format(np.uint8, 128.0, 128.0),
    "s16": _Format(np.int16, 32768.0),
    "s32": _Format(np.int32, 2.0**31),  # 24-bit PCM arrives here, shifted to the top bits
    "s64": _Format(np.int64, 2.0**63),
    "flt": _Format(np.float32, 1.0),
    "dbl": _Format(np.float64, 1.0),
}

Adder = Callable[[tuple, int, np.ndarray], None]  # (frame planes, samples, out)


class Block(NamedTuple):
    samples: np.ndarray  # mono float32, owned by the block
    rate: int
    is_float: bool  # came from float samples, which may hold NaN or infinity


def batched(frames: Iterable[av.AudioFrame], samples: int = BLOCK_FRAMES) -> Iterator[list[av.AudioFrame]]:
    """Group frames into lists of about ``samples`` samples, to hand them between threads a block at a time."""
    batch, count = [], 0
    for frame in frames:
        batch.append(frame)
        count += frame.samples
        if count >= samples:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def mono_blocks(frames: Iterable[av.AudioFrame], block_frames: int = BLOCK_FRAMES) -> Iterator[Block]:
    """Average the channels of ``frames`` into blocks of about ``block_frames`` samples."""
    stage, filled = np.empty(block_frames, np.float32), 0
    key: tuple[str, int, int] = ("", 0, 0)  # (sample format, channels, rate) of the block being filled
    add: Adder = _no_adder
    for frame in frames:
        n = frame.samples
        frame_key = (frame.format.name, frame.layout.nb_channels, frame.sample_rate)
        if frame_key != key or filled + n > len(stage):
            if filled:  # hand the block over whole: the consumer owns it, so start a new one
                yield sums_to_block(stage[:filled], *key)
                stage, filled = np.empty(max(block_frames, n), np.float32), 0
            elif n > len(stage):
                stage = np.empty(n, np.float32)
            if frame_key != key:
                key, add = frame_key, _adder(frame.format, frame_key[1])
        add(frame.planes, n, stage[filled : filled + n])
        filled += n
    if filled:
        yield sums_to_block(stage[:filled], *key)


def _no_adder(planes: tuple, n: int, out: np.ndarray) -> None:
    raise AssertionError("an adder is chosen before the first frame")


def _adder(fmt: av.AudioFormat, channels: int) -> Adder:
    """A function that writes the channel sum of one frame's planes into ``out``."""
    dtype = _FORMATS[fmt.packed.name].dtype
    if not fmt.is_planar:  # one plane, channels interleaved
        return lambda planes, n, out: sum_channels(
            np.frombuffer(planes[0], dtype, n * channels).reshape(n, channels), out
        )
    if channels == 1:
        return lambda planes, n, out: np.copyto(out, np.frombuffer(planes[0], dtype, n), casting="same_kind")

    def add_planes(planes: tuple, n: int, out: np.ndarray) -> None:
        np.add(
            np.frombuffer(planes[0], dtype, n), np.frombuffer(planes[1], dtype, n), out=out, dtype=np.float32
        )
        for c in range(2, channels):
            np.add(out, np.frombuffer(planes[c], dtype, n), out=out, dtype=np.float32)

    return add_planes


def sums_to_block(block: np.ndarray, format_name: str, channels: int, rate: int) -> Block:
    """Scale, in place, a block of channel sums in sample format ``format_name`` to their mean in [-1, 1]."""
    fmt = _FORMATS[av.AudioFormat(format_name).packed.name]
    block *= np.float32(1.0 / (fmt.full_scale * channels))
    if fmt.offset:
        block -= np.float32(fmt.offset / fmt.full_scale)
    return Block(block, rate, fmt.is_float)


def sum_channels(frames: np.ndarray, out: np.ndarray) -> None:
    """Write the sum of the columns of ``frames`` (interleaved, shape (n, channels)) into float32 ``out``."""
    if frames.shape[1] == 1:
        np.copyto(out, frames[:, 0], casting="same_kind")
        return
    np.add(frames[:, 0], frames[:, 1], out=out, dtype=np.float32)
    for c in range(2, frames.shape[1]):
        np.add(out, frames[:, c], out=out, dtype=np.float32)
