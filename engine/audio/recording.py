"""A recording read a span at a time, so that hours of audio never sit in memory at once.

A long recording is answered window by window: the planner looks only at the minute before each
window's limit, and each window needs only its own span. ``FileRecording`` decodes just that
span (seeking in the file); ``ArrayRecording`` serves samples already in memory (a spoken
question, or audio a client sent).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from engine.audio.checks import audio_error
from engine.audio.mixdown import mono_blocks
from engine.audio.output import OutputBuffer
from engine.audio.probe import OpenedAudio, open_audio
from engine.audio.resample import SAMPLE_RATE, Resampler

SEEK_MARGIN_S = 1.0  # seek this far before a span: keyframes and codec delay fall before it


class Recording(Protocol):
    duration_s: float

    def span(self, start_s: float, end_s: float) -> np.ndarray:
        """16 kHz mono samples from ``start_s`` to ``end_s`` (clipped to the recording)."""
        ...


class ArrayRecording:
    def __init__(self, samples: np.ndarray):
        self.samples = samples
        self.duration_s = len(samples) / SAMPLE_RATE

    def span(self, start_s: float, end_s: float) -> np.ndarray:
        return self.samples[max(0, round(start_s * SAMPLE_RATE)) : round(end_s * SAMPLE_RATE)]


class FileRecording:
    def __init__(self, path: str | Path, duration_s: float):
        self.path, self.duration_s = Path(path), duration_s

    def span(self, start_s: float, end_s: float) -> np.ndarray:
        with open_audio(self.path) as opened:
            begins_at, samples = _decode_from(opened, max(0.0, start_s - SEEK_MARGIN_S), end_s)
        skip = max(0, round((start_s - begins_at) * SAMPLE_RATE))
        return samples[skip : skip + round((end_s - start_s) * SAMPLE_RATE)].copy()


def _decode_from(opened: OpenedAudio, seek_s: float, end_s: float) -> tuple[float, np.ndarray]:
    """Decode from the keyframe at or before ``seek_s`` to ``end_s``: (where it began, samples).

    Times count from the stream's first sample, as ``decode_audio`` does (an MP3 starts late)."""
    stream = opened.stream
    origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    if seek_s > 0:
        opened.container.seek(int((seek_s + origin) / stream.time_base), stream=stream, backward=True)
    out = OutputBuffer(int((end_s - seek_s + 2 * SEEK_MARGIN_S) * SAMPLE_RATE))
    resampler, starts = Resampler(out), []
    try:
        for block in mono_blocks(_frames_until(opened, origin + end_s, starts)):
            resampler.write(block.samples, block.rate)
    except av.error.FFmpegError as exc:
        raise audio_error(
            opened.info.path, "a part of it cannot be decoded", exc.strerror, verb="decode"
        ) from exc
    resampler.close()
    return (starts[0] - origin if starts else 0.0), out.finish()


def _frames_until(opened: OpenedAudio, end_s: float, starts: list[float]) -> Iterator[av.AudioFrame]:
    """The decoded frames up to ``end_s`` (stream time); the first one's time goes into ``starts``."""
    for packet in opened.container.demux(opened.stream):
        for frame in packet.decode():
            time = frame.time if frame.time is not None else (starts[0] if starts else 0.0)
            if not starts:
                starts.append(time)
            if time > end_s:
                return
            yield frame
