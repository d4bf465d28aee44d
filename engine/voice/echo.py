"""Echo cancellation: WebRTC's AEC3 through livekit's AudioProcessingModule, at 16 kHz.

The canceller must hear exactly what the speaker plays: the player hands every block it
outputs (silence included, so that the far-end stream never pauses) to ``add_reference``, with
the moment the block reaches the speaker. ``process`` takes microphone samples with the moment
their last sample was captured, and interleaves the two streams 10 ms at a time in the order
they happened: before each microphone frame, every far-end frame heard up to then goes in,
plus ``LEAD_S`` more: the reported times can be off by tens of milliseconds, and an echo that
reached the canceller before its reference could not be cancelled at all (AEC3 looks for the
echo up to about half a second after the reference, so arriving early costs nothing).
AEC3 then only has to find the acoustic delay (room, sound server), not the jitter of our
threads, which it would keep re-learning (that costs tens of dB).

What the canceller leaves of the echo can still look like speech to a voice detector (it hears
quiet speech well). So while the speaker is active, a 10 ms frame that the canceller made more
than ``gate_db`` quieter is muted: that frame was mostly echo. A person talking over Heron is not
cancelled, so their frames pass (down to about ``gate_db`` below the echo's level).

While the far end is active AEC3 also suppresses the near end hard, so a person talking over
Heron can vanish from its output. ``near_end`` therefore comes from the raw microphone and the far
end lined up with it (``doubletalk.DoubleTalk``); the loop pauses the speaker on it, and once the
far end is silent the canceller passes the person's voice again.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from engine.audio import SAMPLE_RATE
from engine.voice.doubletalk import MAX_DELAY, DoubleTalk
from engine.voice.resampler import LiveResampler

RATE = SAMPLE_RATE
FRAME = RATE // 100  # the processing module takes exactly 10 ms frames
FRAME_S = FRAME / RATE
_MAX_REFERENCE_S = 2.0  # far-end audio kept unconsumed before the oldest is dropped
GATE_DB = 18.0
LEAD_S = 0.12
MAX_ECHO_DELAY_S = MAX_DELAY / RATE
_FAR_ACTIVE_RMS = 10 ** (-50 / 20)  # far end louder than -50 dBFS counts as the speaker playing
_FAR_HOLD_S = 0.4  # the echo outlasts the far end by the path delay and the room's reverb
_HISTORY_S = 1.0  # far end kept to line up with the microphone for the double-talk test
_RELOCK_S = 0.05  # the times and the counts this far apart...
_RELOCK_FRAMES = 50  # ... for this many frames in a row (not a late callback): line up again
_DRIFT_FOLLOW = 0.01  # per frame: how fast the line-up follows the times (two clocks drift apart)
_DRIFT_STEP = 32  # samples (2 ms): the line-up moves once they drift this far
_LINEUP_AHEAD_S = 0.02  # the microphone is lined up with the far end heard this much later


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


class EchoCanceller:
    """Removes what the speaker played from the microphone signal."""

    def __init__(
        self,
        enabled: bool = True,
        noise_suppression: bool = False,
        high_pass: bool = True,
        gate_db: float | None = GATE_DB,
    ):
        self.enabled = enabled
        self.gate = None if gate_db is None else 10 ** (-gate_db / 20)
        self._far_active_until = -1.0  # monotonic time until which the echo may still arrive
        self._apm = None
        if enabled:
            from livekit import rtc

            self._rtc = rtc
            self._apm = rtc.AudioProcessingModule(
                echo_cancellation=True, noise_suppression=noise_suppression, high_pass_filter=high_pass
            )
        self._lock = threading.Lock()
        self._incoming: list[tuple[np.ndarray, int, float]] = []  # (samples, rate, heard_at)
        self._resamplers: dict[int, LiveResampler] = {}
        self._far = np.zeros(0, np.float32)  # 16 kHz far end not yet cut into frames
        self._far_out = 0  # 16 kHz far-end samples produced so far
        self._far_in_s = 0.0  # seconds of far end received so far
        self._far_zero = 0.0  # when 16 kHz far-end sample 0 was heard: sample k is heard at zero + k / RATE
        self._history = np.zeros(round(_HISTORY_S * RATE), np.float32)  # the last second of far end
        self._frames: deque[tuple[np.ndarray, float]] = deque()  # far-end 10 ms frames, heard_at
        self._near_rest = np.zeros(0, np.float32)
        self._near_count = 0  # 16 kHz microphone samples framed so far
        self._lineup: int | None = None  # far-end sample index heard with microphone sample 0
        self._apart_frames = 0
        self._drift = 0.0  # samples: how far the times have drifted from the line-up, smoothed
        self._pending_out = np.zeros(0, np.float32)
        self.double_talk = DoubleTalk()
        self._near_end: list[bool] = []

    def add_reference(self, samples: np.ndarray, rate: int, heard_at: float) -> None:
        """A block the speaker plays (any rate, mono float32) and when its first sample is heard.

        Cheap: called from the output stream's callback.
        """
        if self.enabled:
            with self._lock:
                self._incoming.append((samples.copy(), rate, heard_at))

    def process(self, mic: np.ndarray, captured_end: float) -> np.ndarray:
        """Clean 16 kHz microphone samples whose last one was captured at ``captured_end``.

        Returns as many samples as it was given (running a few milliseconds behind).
        """
        if not self.enabled or len(mic) == 0:
            return mic
        self._take_incoming()
        near = np.concatenate([self._near_rest, mic])
        whole = len(near) // FRAME * FRAME
        out = np.empty(whole, np.float32)
        first_frame_at = captured_end - len(near) / RATE
        for start in range(0, whole, FRAME):
            moment = first_frame_at + (start + FRAME) / RATE
            self._feed_far_until(moment + LEAD_S)
            raw = near[start : start + FRAME]
            self._near_end.append(self.double_talk.process(self._far_heard_with(moment), raw))
            cleaned = self._process_frame(raw)
            if (
                self.gate is not None
                and moment <= self._far_active_until
                and _rms(cleaned) < self.gate * _rms(raw)
            ):
                cleaned = np.zeros(FRAME, np.float32)
            out[start : start + FRAME] = cleaned
        self._near_rest = near[whole:]
        return self._keep_length(out, len(mic))

    def echo_delay_s(self) -> float:
        """The echo path's delay beyond the streams' timestamps: what the double-talk test found,
        the longest it looks for until it knows (a busy sound server can buffer that much)."""
        talk = self.double_talk
        if not self.enabled or talk.hears_echo is False:
            return 0.0
        if talk.hears_echo is None or talk.delay is None:
            return MAX_ECHO_DELAY_S
        return talk.delay / RATE

    def take_near_end(self) -> list[bool]:
        """Per 10 ms frame processed since the last call: did it hold someone talking over the speaker?"""
        flags, self._near_end = self._near_end, []
        return flags

    def _far_heard_with(self, moment: float) -> np.ndarray:
        """The far end as it was heard during the 10 ms microphone frame ending at ``moment``.

        Lined up by sample counts, which the reported times set and then only correct: times
        wander by milliseconds from block to block, but over seconds they show two clocks
        drifting apart (``_follow_times``). What else moves the echo (the room, the sound
        server's buffering) the double-talk test's delay search follows.
        """
        frame_index = self._near_count
        self._near_count += FRAME
        if self._far_out == 0:
            return np.zeros(FRAME, np.float32)
        # The far end heard a little *after* the frame: the times can be off by milliseconds
        # either way, and the delay search only looks for echoes that come after their sound.
        # (The far end reaches us one output latency before it is heard, so that much is known.)
        heard_index = round((moment - FRAME_S + _LINEUP_AHEAD_S - self._far_zero) * RATE)
        self._follow_times(heard_index - frame_index)
        start = frame_index + self._lineup - (self._far_out - len(self._history))
        frame = np.zeros(FRAME, np.float32)
        have = self._history[max(start, 0) : max(start + FRAME, 0)]
        frame[max(-start, 0) : max(-start, 0) + len(have)] = have
        return frame

    def _follow_times(self, lineup: int) -> None:
        """Keep the line-up with the times: in small steps as two clocks drift apart (by about
        100 ppm between two sound devices), at once when they jump (a stream restarted)."""
        apart = self._lineup is None or abs(lineup - self._lineup) > _RELOCK_S * RATE
        self._apart_frames = self._apart_frames + 1 if apart else 0
        if self._lineup is None or self._apart_frames >= _RELOCK_FRAMES:
            self._lineup, self._apart_frames, self._drift = lineup, 0, 0.0
            return
        self._drift += _DRIFT_FOLLOW * (lineup - self._lineup - self._drift)
        if abs(self._drift) >= _DRIFT_STEP:
            step = round(self._drift)
            self._lineup += step
            self._drift -= step

    # -- far end ---------------------------------------------------------------------------------
    def _take_incoming(self) -> None:
        with self._lock:
            incoming, self._incoming = self._incoming, []
        for samples, rate, heard_at in incoming:
            # Times come from the input: the resampler hands out a varying share of each block,
            # but its output sample k is always input time k / RATE.
            self._far_zero = heard_at - self._far_in_s
            self._far_in_s += len(samples) / rate
            if rate != RATE:
                stream = self._resamplers.get(rate)
                if stream is None:
                    stream = self._resamplers[rate] = LiveResampler(rate, RATE)
                samples = stream.process(samples)
            self._far = np.concatenate([self._far, samples])
            self._far_out += len(samples)
            self._history = np.concatenate([self._history[len(samples) :], samples[-len(self._history) :]])
        whole = len(self._far) // FRAME * FRAME
        first = self._far_out - len(self._far)
        for start in range(0, whole, FRAME):
            self._frames.append((self._far[start : start + FRAME], self._far_zero + (first + start) / RATE))
        self._far = self._far[whole:]
        while len(self._frames) > _MAX_REFERENCE_S / FRAME_S:
            self._frames.popleft()

    def _feed_far_until(self, moment: float) -> None:
        """Give the canceller every far-end frame heard before ``moment``."""
        while self._frames and self._frames[0][1] + FRAME_S <= moment:
            samples, heard_at = self._frames.popleft()
            if _rms(samples) > _FAR_ACTIVE_RMS:
                self._far_active_until = heard_at + _FAR_HOLD_S
            frame = self._rtc.AudioFrame(bytearray(_to_int16(samples).tobytes()), RATE, 1, FRAME)
            self._apm.process_reverse_stream(frame)

    # -- near end --------------------------------------------------------------------------------
    def _process_frame(self, samples: np.ndarray) -> np.ndarray:
        frame = self._rtc.AudioFrame(bytearray(_to_int16(samples).tobytes()), RATE, 1, FRAME)
        self._apm.process_stream(frame)
        return np.frombuffer(frame.data, np.int16).astype(np.float32) / 32767.0

    def _keep_length(self, out: np.ndarray, wanted: int) -> np.ndarray:
        # Samples short of a whole frame wait for the next call, so the output runs a fixed few
        # milliseconds behind the input and every call returns as many samples as it was given.
        self._pending_out = np.concatenate([self._pending_out, out])
        given, self._pending_out = self._pending_out[:wanted], self._pending_out[wanted:]
        if len(given) < wanted:  # the very first calls: a few samples of latency, filled with silence
            given = np.concatenate([np.zeros(wanted - len(given), np.float32), given])
        return given


def cancel_offline(
    far: np.ndarray, mic: np.ndarray, canceller: EchoCanceller | None = None, ahead_s: float = 0.05
) -> np.ndarray:
    """Run the canceller over a recorded far-end/microphone pair (same clock), 10 ms at a time.

    The far end arrives ``ahead_s`` before it is heard, as from a speaker with that much buffered.
    """
    canceller = canceller or EchoCanceller()
    out = np.zeros(len(mic), np.float32)
    ahead = round(ahead_s * RATE / FRAME) * FRAME
    canceller.add_reference(far[:ahead], RATE, 0.0)
    for start in range(0, len(mic) - FRAME + 1, FRAME):
        canceller.add_reference(far[start + ahead : start + ahead + FRAME], RATE, (start + ahead) / RATE)
        out[start : start + FRAME] = canceller.process(mic[start : start + FRAME], (start + FRAME) / RATE)
    return out


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def erle_db(mic: np.ndarray, cleaned: np.ndarray) -> float:
    """Echo return loss enhancement: how much quieter the echo became, in dB."""
    residual = float(np.sum(cleaned.astype(np.float64) ** 2))
    return 10.0 * np.log10(float(np.sum(mic.astype(np.float64) ** 2)) / max(residual, 1e-12))
