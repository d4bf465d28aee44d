"""The window shows and plays a long recording without holding its samples.

A recording longer than ``IN_MEMORY_S`` streams through once for its peaks pyramid; the waveform's
deepest zoom, the player and grounding read it from its file a stretch at a time. Here the limit
is lowered so that a two-minute file counts as long.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import sounddevice

from app import recording_loader
from app.player import RecordingPlayer
from app.recording_loader import RecordingLoader, grounding_source
from engine.audio import decode_audio
from engine.audio.decode import stream_audio
from engine.audio.peaks import PeaksPyramid
from engine.audio.playback import CHUNK_FRAMES
from engine.audio.recording import FileRecording
from engine.grounding.file_audio import FileAudio
from tests import media

RATE = 16000


def sweep(seconds: float) -> np.ndarray:
    """A rising tone: a sample out of place differs from its neighbour by far more than 1e-4."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * (100 + 8 * t) * t)).astype(np.float32)


def write(tmp_path: Path, kind: str, seconds: float = 120) -> Path:
    if kind == "wav":
        return media.write_wav(tmp_path / "long.wav", sweep(seconds), RATE)
    return media.write_encoded(tmp_path / f"long.{kind}", sweep(seconds), RATE, kind)


@pytest.mark.parametrize("kind", ["wav", "m4a"])
def test_streaming_a_file_hands_out_exactly_what_decoding_it_whole_returns(kind, tmp_path):
    path = write(tmp_path, kind, 20)
    blocks: list[np.ndarray] = []
    count = stream_audio(path, lambda samples: blocks.append(samples.copy()))
    whole = decode_audio(path)  # an AAC file decodes past its stated end: both drop that padding
    assert count == len(whole) == sum(len(b) for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


@pytest.fixture
def long_opened(qtbot, tmp_path, monkeypatch):
    """A two-minute file opened by the window's loader as a long recording: (path, recording, peaks)."""
    monkeypatch.setattr(recording_loader, "IN_MEMORY_S", 10.0)
    path = write(tmp_path, "wav")
    loader = RecordingLoader(tmp_path / "cache")
    with qtbot.waitSignal(loader.loaded, timeout=30000) as opened:
        loader.open(str(path))
    return opened.args


def test_a_long_recording_opens_as_peaks_and_a_file_never_as_samples(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(recording_loader, "IN_MEMORY_S", 10.0)
    monkeypatch.setattr(recording_loader, "decode_audio", lambda *a, **k: pytest.fail("decoded whole"))
    path = write(tmp_path, "wav", 600)
    whole_bytes = 600 * RATE * 4
    loader = RecordingLoader(tmp_path / "cache")
    tracemalloc.start()
    try:
        loader._load(str(path), loader._cancel)  # in this thread, so that its allocations are traced
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < whole_bytes / 3, (
        f"opening held {peak / 1e6:.1f} MB; the samples are {whole_bytes / 1e6:.1f} MB"
    )
    with qtbot.waitSignal(loader.loaded, timeout=30000) as opened:
        loader.open(str(path))  # the second time from the cached pyramid
    _, recording, peaks = opened.args
    assert isinstance(recording, FileRecording) and recording.duration_s == pytest.approx(600.0)
    assert peaks.samples is None and peaks.n_samples == 600 * RATE
    assert isinstance(grounding_source(recording), FileAudio)


def test_the_deepest_zoom_reads_the_file_and_draws_what_the_samples_would(long_opened):
    path, recording, peaks = long_opened
    whole = PeaksPyramid.compute(decode_audio(path), RATE).with_samples(decode_audio(path))
    for start in (0.0, 61.234, 119.5):
        view = (start, start + 0.4)  # 0.4 s over 800 columns: finer than one 16 ms block
        np.testing.assert_array_equal(peaks.range(*view, 800)[0], whole.range(*view, 800)[0])
        np.testing.assert_array_equal(peaks.range(*view, 800)[1], whole.range(*view, 800)[1])
    assert len(peaks.detail._piece) < 10 * RATE  # a stretch around the view, not the recording


class FakeOutput:
    """A sound device that plays nothing: the test pulls its blocks through the player's callback."""

    opened: list[FakeOutput] = []

    def __init__(self, *, callback, blocksize, **_):
        self.callback, self.blocksize, self.latency = callback, blocksize, 0.0
        FakeOutput.opened.append(self)

    def start(self):
        pass

    def stop(self):
        pass

    def close(self):
        pass

    def pull(self, seconds: float) -> np.ndarray:
        out = np.zeros((self.blocksize, 1), np.float32)
        played = []
        for _ in range(int(seconds * RATE) // self.blocksize):
            self.callback(out, self.blocksize, None, None)
            played.append(out[:, 0].copy())
        return np.concatenate(played)


@pytest.mark.parametrize("kind", ["wav", "mp3"])
def test_playing_from_near_the_end_plays_the_samples_decoded_there(kind, qtbot, tmp_path, monkeypatch):
    path = write(tmp_path, kind)
    whole = decode_audio(path)
    monkeypatch.setattr(sounddevice, "OutputStream", FakeOutput)
    player = RecordingPlayer()
    player.set_recording(FileRecording(path, len(whole) / RATE))
    player.seek(100.0)
    player.play()
    device = FakeOutput.opened[-1]
    at = 100 * RATE + len(device.pull(0.5))  # the feeder has its first chunk at once
    qtbot.waitUntil(lambda: player._feeder._ready.full(), timeout=10000)
    played = device.pull(5.0)
    np.testing.assert_allclose(played, whole[at : at + len(played)], atol=1e-4)  # chunks resampled alone
    player.seek(119.0)  # seeking while playing reads from there, to the end and then silence
    qtbot.waitUntil(lambda: player._feeder._ready.qsize() >= 1, timeout=10000)
    tail, left = device.pull(1.5), len(whole) - 119 * RATE
    np.testing.assert_allclose(tail[:left], whole[119 * RATE :], atol=1e-4)
    assert not tail[left:].any()
    held = [player._feeder._current, *list(player._feeder._ready.queue)]
    assert max(len(a) for a in held) <= CHUNK_FRAMES  # a couple of seconds, never the recording
    player.close()
