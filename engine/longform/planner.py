"""Split a long recording into windows the model can take, cutting where nobody speaks.

The model hears at most what its processor keeps (``LoadedModel.max_audio_s``: 20 or 30
minutes for AF-Next). Each cut is placed in the longest pause that silero-vad finds in the
last minute before a window would overflow (the latest, on a tie), so no word is cut in two;
the next window starts a little before the cut, so what was said right at the boundary is
heard in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.audio import SAMPLE_RATE
from engine.audio.recording import ArrayRecording, Recording

SEARCH_S = 60.0  # how far before the limit to look for a pause
OVERLAP_S = 2.0
MIN_PAUSE_S = 0.3  # shorter gaps may be inside a word
GOOD_PAUSE_SHARE = 0.7


@dataclass(frozen=True)
class Window:
    index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def plan_windows(
    recording: Recording | np.ndarray,
    max_window_s: float,
    search_s: float | None = None,
    overlap_s: float = OVERLAP_S,
    speech=None,
) -> list[Window]:
    """Windows covering the whole recording, each at most ``max_window_s`` (the model's limit).

    Only the minute before each limit is read (``Recording.span``), so a recording on disk is never
    decoded whole. ``speech(samples, rate) -> [(start_s, end_s), …]`` finds speech; silero-vad by default.
    """
    if isinstance(recording, np.ndarray):
        recording = ArrayRecording(recording)
    duration = recording.duration_s
    search_s = min(search_s or SEARCH_S, max_window_s / 2)
    speech = speech or speech_segments
    windows: list[Window] = []
    start = 0.0
    while duration - start > max_window_s:
        cut = _cut_point(recording, start + max_window_s - search_s, start + max_window_s, speech)
        windows.append(Window(len(windows), start, cut))
        start = max(cut - overlap_s, start + 1.0)
    windows.append(Window(len(windows), start, duration))
    return windows


def _cut_point(recording: Recording, lo: float, hi: float, speech) -> float:
    """The middle of a long pause late in [lo, hi], or ``hi`` when there is none.

    Longer pauses are safer cuts (between sentences) and later ones keep windows full: take
    the latest pause at least ``GOOD_PAUSE_SHARE`` as long as the longest.
    """
    spoken = speech(recording.span(lo, hi), SAMPLE_RATE)
    edges = [0.0, *[t for segment in spoken for t in segment], hi - lo]
    gaps = [(b - a, a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= MIN_PAUSE_S]
    if not spoken or not gaps:
        return hi  # no speech (music, noise) or no pause at all: nothing better than the limit
    longest = max(g[0] for g in gaps)
    _, a, b = max((g for g in gaps if g[0] >= GOOD_PAUSE_SHARE * longest), key=lambda g: g[1])
    return lo + (a + b) / 2


_vad_model = None


def speech_segments(samples: np.ndarray, rate: int = SAMPLE_RATE) -> list[tuple[float, float]]:
    """Speech as (start_s, end_s) pairs, by silero-vad."""
    import torch

    global _vad_model
    threads = torch.get_num_threads()
    if _vad_model is None:
        from silero_vad import load_silero_vad

        _vad_model = load_silero_vad()
    from silero_vad import get_speech_timestamps

    torch.set_num_threads(1)  # a 32 ms chunk per call: more threads only contend (20 s, not 0.3 s, for 10 s)
    try:
        found = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(samples)), _vad_model,
                                      sampling_rate=rate, return_seconds=True)  # fmt: skip
    finally:
        torch.set_num_threads(threads)  # the model's own threads, as they were
    return [(float(s["start"]), float(s["end"])) for s in found]
