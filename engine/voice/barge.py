"""Talking over Heron: pause the speaker the moment someone seems to, then confirm or resume.

With echo cancellation the signal is the double-talk test (the canceller itself mutes a person
talking over the far end); without, a loud microphone. The turn detector needs a few chunks to
be sure and hears speech over Heron's voice badly: pausing first gets the speaker silent in tens
of milliseconds and gives the detector the voice without the echo. Voice that goes on after the
echo of what was already playing has died out is the user's (a barge-in); anything else lets
the speaker resume.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.audio import SAMPLE_RATE
from engine.voice.events import BargeIn
from engine.voice.vad import TurnDetector

FRAME = SAMPLE_RATE // 100  # 10 ms
BARGE_LEVEL = 10 ** (-50 / 20)  # without echo cancellation: this loud while Heron speaks may be the user
BARGE_FRAMES = 2  # ... for this many 10 ms frames in a row: pause the speaker
DOUBLE_TALK_FRAMES = 2  # with it: the double-talk test's verdict for this many frames in a row
BARGE_CONFIRM_S = 0.6  # no speech confirmed within this (and quiet): resume speaking
# After the speaker's last sample and the echo path's delay (a busy sound server can make that
# hundreds of milliseconds), its echo has died out within this, and the detector noticed.
ECHO_TAIL_S = 0.35


@dataclass(frozen=True)
class Pause:
    """The speaker paused for a possible barge-in."""

    onset_s: float  # stream time the voice began
    at: float  # monotonic time of the pause


class BargeWatch:
    def __init__(
        self,
        player,
        detector: TurnDetector,
        wall_of: Callable[[float], float],
        echo_delay_s: Callable[[], float] = lambda: 0.0,
    ):
        self.player = player
        self.detector = detector
        self._wall_of = wall_of  # stream time -> the monotonic time it was captured
        self._echo_delay_s = echo_delay_s  # how long the speaker takes to reach the microphone
        self.pause: Pause | None = None
        self._voice_frames = 0  # consecutive 10 ms frames that seemed to hold a voice while Heron speaks

    def watch(self, near_end: list[bool] | None, clean: np.ndarray, fed_s: float, speaking: bool) -> None:
        """One block of microphone: pause the speaker if a voice seems to start over Heron's.

        ``near_end`` is the double-talk test's verdict per frame (None without echo cancellation).
        """
        if self.pause is not None or not speaking or self.player.paused:
            self._voice_frames = 0
            return
        if near_end is not None:
            frames, needed = near_end, DOUBLE_TALK_FRAMES
        else:
            whole = len(clean) // FRAME * FRAME
            levels = np.sqrt(np.mean(np.square(clean[:whole].reshape(-1, FRAME), dtype=np.float64), axis=1))
            frames, needed = list(levels >= BARGE_LEVEL), BARGE_FRAMES
        for index, voice in enumerate(frames):
            self._voice_frames = self._voice_frames + 1 if voice else 0
            if self._voice_frames >= needed:
                self.pause_for(fed_s - (len(frames) - index + needed - 1) * FRAME / SAMPLE_RATE)
                return

    def pause_for(self, onset_s: float) -> None:
        self.player.pause()
        self.pause = Pause(onset_s, time.monotonic())
        self._voice_frames = 0

    def settle(self, fed_s: float) -> BargeIn | None:
        """While paused: the ``BargeIn`` once the voice is surely the user's (the speaker then
        stops), or resume when it was nothing. None while undecided, or resumed."""
        pause, detector = self.pause, self.detector
        if pause is None:
            return None
        # Voice heard longer after the speaker fell silent than its echo lasts is the user's.
        if detector.state == "speaking" and self.echo_over_at(self._wall_of(detector.voice_end_s)):
            self.pause = None
            self.player.stop()
            stop_ms = (pause.at - self._wall_of(pause.onset_s) + self.player.latency_s) * 1000
            return BargeIn(round(pause.onset_s, 3), round(stop_ms, 1))
        if (
            time.monotonic() - pause.at > BARGE_CONFIRM_S
            and detector.state != "speaking"
            and (detector.state == "idle" or detector.voice_end_s < fed_s - self.echo_tail_s())
        ):
            self.pause = None
            self.player.resume()
        return None

    def echo_over_at(self, moment: float) -> bool:
        """Whether the speaker's echo has died out by monotonic time ``moment`` (False while it plays)."""
        quiet = self.quiet_since()
        return quiet is not None and moment >= quiet + self.echo_tail_s()

    def echo_tail_s(self) -> float:
        """How long after the speaker falls silent its echo may still be heard."""
        return ECHO_TAIL_S + self._echo_delay_s()

    def quiet_since(self) -> float | None:
        """When the speaker went quiet (what was buffered included), if it is; None while it plays."""
        if self.pause is not None:  # the block in flight when it paused is still heard
            return max(self.pause.at, self.player.sound_until)
        return None if self.player.busy else self.player.silent_since
