"""A recording read a span at a time gives the samples of decoding it whole, aligned to the sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.audio import decode_audio
from engine.audio.recording import ArrayRecording, FileRecording
from engine.longform.planner import plan_windows
from tests import media

RATE = 16000


def sweep(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * (100 + 8 * t) * t)).astype(np.float32)


@pytest.mark.parametrize("kind", ["wav", "flac", "mp3", "opus", "m4a"])
def test_spans_match_the_whole_decode_sample_for_sample(kind, tmp_path: Path):
    samples = sweep(120)
    path = media.write_wav(tmp_path / "t.wav", samples, RATE) if kind == "wav" else None
    path = path or media.write_encoded(tmp_path / f"t.{kind}", samples, RATE, kind)
    whole = decode_audio(path)
    recording = FileRecording(path, len(whole) / RATE)
    for start, end in ((0.0, 5.0), (61.37, 75.0), (110.0, len(whole) / RATE)):
        span = recording.span(start, end)
        expected = whole[round(start * RATE) : round(end * RATE)]
        assert len(span) == len(expected), (kind, start)
        assert np.allclose(span, expected, atol=1e-4), (kind, start)  # resampling chunked otherwise


def test_planning_a_file_reads_the_same_cuts_as_planning_its_samples(tmp_path: Path):
    sentence = media.speech("A sentence, then a pause.")
    minute = np.resize(np.concatenate([sentence, np.zeros(RATE, np.float32)]), 60 * RATE)
    samples = np.tile(minute, 5)
    path = media.write_wav(tmp_path / "talk.wav", samples, RATE)
    from_file = plan_windows(FileRecording(path, len(samples) / RATE), max_window_s=100, search_s=30)
    from_array = plan_windows(ArrayRecording(decode_audio(path)), max_window_s=100, search_s=30)
    assert from_file == from_array and len(from_file) >= 3
