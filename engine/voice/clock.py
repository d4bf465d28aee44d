"""A sound stream's own clock: sample counts mapped to ``time.monotonic``, without the jitter.

The time a callback runs, and the latencies PortAudio reports with it, jitter by several
milliseconds from block to block (tens when the machine is busy). The echo canceller lines
the speaker's stream up with the microphone's by these times, and AEC3 treats every jump of
the alignment as a change of the room, re-learning it and losing tens of dB. A stream's
samples, though, come at a steady rate: time = offset + samples / rate, with the offset
following the reported times slowly (so drift between two devices' clocks is followed).
A reading far off is a late callback and is ignored, unless the readings stay off: then the
stream really jumped (an underrun, a stall of the sound server) and the offset jumps too.
"""

from __future__ import annotations

from statistics import median


class StreamClock:
    def __init__(self, rate: int, follow: float = 0.02, jump_s: float = 0.03, confirm: int = 8):
        self.rate = rate
        self.follow = follow  # how much of each new reading the offset takes in
        self.jump_s = jump_s  # readings further off than this are outliers...
        self.confirm = confirm  # ...unless this many in a row are, which is a real jump
        self._offset: float | None = None
        self._outliers: list[float] = []

    def update(self, position: int, reported: float) -> float:
        """A reading: sample ``position`` happens at ``reported``; returns the smoothed time."""
        offset = reported - position / self.rate
        if self._offset is None:
            self._offset = offset
        elif abs(offset - self._offset) <= self.jump_s:
            self._offset += self.follow * (offset - self._offset)
            self._outliers.clear()
        else:
            self._outliers.append(offset)
            if len(self._outliers) >= self.confirm:
                self._offset = median(self._outliers)
                self._outliers.clear()
        return self.time_of(position)

    def time_of(self, position: int) -> float:
        return (self._offset or 0.0) + position / self.rate
