"""Decode any audio or video file to what AF-Next hears: float32 mono samples at 16 kHz.

The file streams through in blocks (demux, decode, average the channels, resample, store), so a
three-hour recording never sits in memory at its own rate; only the 16 kHz result does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import av
import numpy as np

from engine.audio.checks import audio_error
from engine.audio.length import too_short
from engine.audio.mixdown import Block, batched, mono_blocks
from engine.audio.output import OutputBuffer
from engine.audio.pcm import pcm_wav_blocks
from engine.audio.prefetch import prefetched
from engine.audio.probe import AudioInfo, OpenedAudio, open_audio
from engine.audio.resample import SAMPLE_RATE, Resampler
from engine.errors import AudioError, CancelledError

ProgressFn = Callable[[float, float | None], None]  # (decoded seconds, total seconds or None)
CancelFn = Callable[[], bool]

# Codec priming and padding move the decoded length a few milliseconds off the stated one
# (Opus: 6.5 ms, AAC: up to 2 frames ≈ 46 ms); a cut file is off by far more.
TRUNCATION_TOLERANCE_S = 0.1
_MAX_PADDING_S = 1.0  # decoded beyond the stated length by less than this: codec padding, trimmed
_MAX_PREALLOCATED_S = 6 * 3600  # a damaged header can state any length; longer files grow the buffer


@dataclass
class _Run:
    seconds: float = 0.0  # decoded so far, at the file's own rate
    last_error: av.error.FFmpegError | None = None
    ended_badly: bool = False  # the last packet failed, as in a file cut mid-frame


def decode_audio(
    path: str | Path, *, progress: ProgressFn | None = None, should_cancel: CancelFn | None = None
) -> np.ndarray:
    """The whole file as a 1-D float32 array, mono (channels averaged), at SAMPLE_RATE.

    ``progress(done_s, total_s)`` (seconds of the file) is called after each block of 1.5 to 6 s of
    audio, and once at the end with ``done_s == total_s``; ``should_cancel()`` is polled before each
    block and, when true, stops decoding with CancelledError. Raises AudioError, one line naming the
    file and the reason, for anything that is not usable audio.
    """
    path = Path(path)
    with open_audio(path) as opened:
        out = OutputBuffer(_expected_samples(opened.info))
        run = _decode_into(opened, out, progress, should_cancel)
    samples = out.finish(limit=_checked_end(path, opened.info, run))
    _finish(path, len(samples), run, progress)
    return samples


def stream_audio(
    path: str | Path,
    write: Callable[[np.ndarray], None],
    *,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> int:
    """Decode the whole file as ``decode_audio`` does, handing its samples to ``write`` a block at a
    time instead of keeping them: the count of samples, which ``decode_audio`` would have returned.

    The last second is held back until the end, where a codec's padding past the stated length is
    dropped, so ``write`` sees exactly the samples ``decode_audio`` returns."""
    path = Path(path)
    held = _HeldBack(write, round(_MAX_PADDING_S * SAMPLE_RATE))
    with open_audio(path) as opened:
        run = _decode_into(opened, held, progress, should_cancel)
    count = held.finish(limit=_checked_end(path, opened.info, run))
    _finish(path, count, run, progress)
    return count


class _HeldBack:
    """Passes samples on to ``write`` while keeping the latest ``keep`` of them back."""

    def __init__(self, write: Callable[[np.ndarray], None], keep: int):
        self._write, self._keep = write, keep
        self._tail = np.zeros(0, np.float32)
        self.passed = 0

    def write(self, samples: np.ndarray) -> None:
        tail = np.concatenate([self._tail, samples]) if len(self._tail) else samples
        ready = len(tail) - self._keep
        if ready > 0:
            self._write(tail[:ready])
            self.passed += ready
        self._tail = tail[max(ready, 0) :].copy()

    def finish(self, limit: int | None) -> int:
        rest = self._tail if limit is None else self._tail[: max(limit - self.passed, 0)]
        if len(rest):
            self._write(rest)
        self.passed += len(rest)
        return self.passed


def _checked_end(path: Path, info: AudioInfo, run: _Run) -> int | None:
    """Refuse a truncated or empty decode; the sample count past which codec padding is dropped."""
    _check_complete(path, info, run)
    return _padding_limit(info, run)


def _finish(path: Path, count: int, run: _Run, progress: ProgressFn | None) -> None:
    if (reason := too_short(count / SAMPLE_RATE)) is not None:
        raise audio_error(path, reason, verb="decode")
    if progress is not None:
        progress(run.seconds, run.seconds)


def _decode_into(
    opened: OpenedAudio,
    out: OutputBuffer | _HeldBack,
    progress: ProgressFn | None,
    should_cancel: CancelFn | None,
) -> _Run:
    run, resampler, total = _Run(), Resampler(out), opened.info.duration_s
    with _blocks(opened, run) as blocks:
        for block in blocks:
            if should_cancel is not None and should_cancel():
                raise CancelledError("Decoding cancelled.")
            if block.is_float and not _all_finite(block.samples):
                raise _non_finite(opened.info.path, block.samples)
            if block.rate <= 0:
                raise audio_error(
                    opened.info.path, f"it states a sample rate of {block.rate} Hz", verb="decode"
                )
            resampler.write(block.samples, block.rate)
            run.seconds += len(block.samples) / block.rate
            if progress is not None:
                progress(run.seconds, total)
    resampler.close()
    return run


@contextmanager
def _blocks(opened: OpenedAudio, run: _Run) -> Iterator[Iterator[Block]]:
    """Mono blocks, with the decoding done a few blocks ahead in a worker thread.

    The work is split so that neither thread idles when a second core is free: for compressed files
    the worker only demuxes and decodes (FFmpeg, mostly without the GIL) and this thread averages the
    channels and resamples; for PCM WAV the worker reads and averages, and this thread resamples.
    On 30 minutes of MP3 (on a loaded 2-core machine) the threads took 2.0 and 1.3 CPU seconds this
    way, against 2.4 and 0.7 with the averaging in the worker; the busier thread sets the wall time.
    """
    pcm = pcm_wav_blocks(opened.info.path, opened.wav)
    if pcm is not None:
        with prefetched(pcm) as blocks:
            yield blocks
    else:
        with prefetched(batched(_frames(opened, run))) as batches:
            yield mono_blocks(chain.from_iterable(batches))


def _frames(opened: OpenedAudio, run: _Run) -> Iterator[av.AudioFrame]:
    """Every decoded frame; a damaged packet is skipped, as players do, and remembered in ``run``."""
    try:
        for packet in opened.container.demux(opened.stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as exc:
                run.last_error, run.ended_badly = exc, True
                continue
            run.ended_badly = run.ended_badly and packet.size == 0  # the final flush packet decides nothing
            yield from frames
    except av.error.FFmpegError as exc:  # the demuxer gave up: nothing after this point is readable
        run.last_error, run.ended_badly = exc, True


def _check_complete(path: Path, info: AudioInfo, run: _Run) -> None:
    if run.seconds == 0:
        if run.last_error is not None:
            raise audio_error(
                path, "no audio could be decoded from it", run.last_error.strerror, verb="decode"
            )
        raise audio_error(path, "it contains no audio samples", verb="decode")
    if not info.duration_exact or info.duration_s is None:
        return
    missing = info.duration_s - run.seconds
    if missing > TRUNCATION_TOLERANCE_S or (missing > 0.001 and run.ended_badly):
        raise audio_error(
            path,
            f"the file is truncated: it states {info.duration_s:.2f} s of audio "
            f"but only {run.seconds:.2f} s could be decoded",
            verb="decode",
        )


def _expected_samples(info: AudioInfo) -> int | None:
    if info.duration_s is None:
        return None
    margin = 1.0 if info.duration_exact else 1.05  # an estimate may be a little short; growing is rarer
    return int(min(info.duration_s * margin, _MAX_PREALLOCATED_S) * SAMPLE_RATE) + SAMPLE_RATE // 10


def _padding_limit(info: AudioInfo, run: _Run) -> int | None:
    """Drop what a codec padded past the stated end (AAC in MP4 decodes up to a frame too long)."""
    if info.duration_exact and info.duration_s and 0 < run.seconds - info.duration_s < _MAX_PADDING_S:
        return round(info.duration_s * SAMPLE_RATE)
    return None


def _all_finite(samples: np.ndarray) -> bool:
    # The sum is a fast SIMD reduction and is finite whenever every sample is; only when it is not
    # (NaN, infinity, or a sum of absurdly large values) is the exact, slower test needed.
    return bool(np.isfinite(samples.sum())) or bool(np.isfinite(samples).all())


def _non_finite(path: Path, samples: np.ndarray) -> AudioError:
    what = "NaN (not-a-number) samples" if np.isnan(samples).any() else "infinite sample values"
    return audio_error(path, f"it contains {what}, which are not sound", verb="decode")
