"""The microphone's clock: 16 kHz stream positions map to capture times without the jitter.

The echo canceller lines the speaker's stream up with the microphone's by these times. The
resampler hands out a varying number of samples per read (it keeps a few back), and callbacks
report their times with jitter; neither may move the times it gives by more than a fraction of
a millisecond.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np

import engine.voice.capture as capture_module
from engine.voice.capture import RATE, Capture
from engine.voice.devices import SoundDevice

NATIVE = 44100
BLOCK = NATIVE // 100


class FakeInputStream:
    latency = 0.01

    def __init__(self, callback, **_):
        self.callback = callback

    def start(self):
        pass

    def close(self):
        pass


def test_capture_times_are_steady_across_uneven_reads(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(capture_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    device = SoundDevice(0, "mic", "test", 1, 0, NATIVE)
    streams = []
    capture = Capture(
        device, stream_factory=lambda **kw: streams.append(FakeInputStream(**kw)) or streams[-1]
    )
    capture.start()
    jitter = random.Random(0)
    readings = []  # (16 kHz position read up to, the time the capture gives for it)
    for block in range(1000):
        true_start = 100.0 + block * BLOCK / NATIVE
        # The callback runs up to 8 ms late and reports when its first sample was captured.
        clock[0] = true_start + BLOCK / NATIVE + jitter.uniform(0.0, 0.008)
        info = SimpleNamespace(currentTime=clock[0], inputBufferAdcTime=true_start)
        samples = np.zeros((BLOCK, 1), np.float32)
        streams[0].callback(samples, BLOCK, info, None)
        if block % jitter.choice([2, 3, 4]) == 0:  # reads gather a varying number of blocks
            capture.read(0.0)
            readings.append((capture.samples_read, capture.time_of(capture.samples_read / RATE)))
    # Sample k of the 16 kHz stream was captured at 100 s + k / RATE (the resampler is aligned).
    errors = [abs(at - (100.0 + position / RATE)) for position, at in readings[20:]]
    assert max(errors) < 0.001, f"capture times off by up to {max(errors) * 1000:.2f} ms"
