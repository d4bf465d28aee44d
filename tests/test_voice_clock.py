"""The stream clock: steady sample times from jittery callback readings."""

from __future__ import annotations

import numpy as np

from engine.voice.clock import StreamClock


def test_jitter_is_smoothed_away():
    rng = np.random.default_rng(0)
    clock = StreamClock(48000)
    for block in range(500):
        position = block * 480
        clock.update(position, 100.0 + position / 48000 + rng.uniform(0, 0.008))
    assert abs(clock.time_of(480 * 500) - (100.0 + 5.0 + 0.004)) < 0.002


def test_a_late_callback_is_ignored_but_a_real_jump_is_followed():
    clock = StreamClock(1000, confirm=5)
    for position in range(0, 100, 10):
        clock.update(position, 10.0 + position / 1000)
    clock.update(100, 10.1 + 0.2)  # one callback 200 ms late
    assert abs(clock.time_of(100) - 10.1) < 0.001
    for position in range(110, 170, 10):  # the stream really jumped 50 ms (an underrun)
        clock.update(position, 10.05 + position / 1000)
    assert abs(clock.time_of(200) - 10.25) < 0.002
