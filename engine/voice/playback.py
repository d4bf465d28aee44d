"""The speaker: one output stream, always running, fed from a queue of speech segments.

The stream stays open for the whole conversation (opening one costs tens of milliseconds and
the echo canceller wants a steady far-end signal) and plays silence when there is nothing to
say. Blocks are small (10 ms), so ``stop`` and ``pause`` silence the speaker within one block
plus the device's buffer (30 ms by default: no underrun in the voice bench on a busy two-core
machine; each underrun would shift the echo the canceller must follow, so ``underruns`` counts
them). Every block written, silence included, goes to ``on_played``: the echo canceller's
reference is exactly what the speaker played.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import soxr

from engine.errors import DeviceError
from engine.voice.clock import StreamClock
from engine.voice.devices import SoundDevice

PlayedCallback = Callable[[np.ndarray, int, float], None]  # (mono float32 block, rate, heard_at)
SegmentCallback = Callable[[object, float], None]  # (tag, monotonic time its first sample is heard)


def _sounddevice_stream(**kwargs):
    import sounddevice as sd

    return sd.OutputStream(**kwargs)


@dataclass
class _Segment:
    samples: np.ndarray  # at the output rate
    tag: object = None
    position: int = 0


class Player:
    """Queue speech with ``play``; ``stop`` drops everything queued, ``pause``/``resume`` hold it."""

    def __init__(
        self,
        device: SoundDevice,
        block_ms: int = 10,
        latency_s: float = 0.03,
        on_played: PlayedCallback | None = None,
        on_segment: SegmentCallback | None = None,
        stream_factory: Callable[..., object] = _sounddevice_stream,
    ):
        self.device = device
        self.rate = int(device.default_rate)
        self.block = max(1, self.rate * block_ms // 1000)
        self.requested_latency = latency_s
        self.on_played = on_played
        self.on_segment = on_segment
        self._factory = stream_factory
        self._segments: deque[_Segment] = deque()
        self._lock = threading.Lock()
        self._paused = False
        self._idle = threading.Event()
        self._idle.set()
        self._stream = None
        self._clock = StreamClock(self.rate)
        self._frames_out = 0  # samples handed to the device so far
        self.silent_since = time.monotonic()  # when the speaker last went quiet
        self.latency_s = 0.0  # the device's output latency, as the stream reports it
        self.sound_until = 0.0  # monotonic time at which the last sample played so far is heard
        self.underruns = 0  # blocks the device ran out of sound before (a starved callback)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._stream = self._factory(
                device=self.device.index,
                samplerate=self.rate,
                channels=1,
                dtype="float32",
                blocksize=self.block,
                latency=self.requested_latency,
                callback=self._callback,
            )
            self._stream.start()
            self.latency_s = float(getattr(self._stream, "latency", 0.0) or 0.0)
        except Exception as exc:
            raise DeviceError(
                f"The speaker {self.device.name!r} cannot be opened ({exc}): check that it is connected, "
                "or choose another with --output."
            ) from exc

    def close(self) -> None:
        self.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):  # a vanished device may fail to close; nothing to keep
                stream.close()

    # -- control -----------------------------------------------------------------------------
    def prepare(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """``samples`` at the device's rate, so that ``play`` later has nothing left to do."""
        if rate == self.rate or len(samples) == 0:
            return samples
        # Medium quality: transparent for speech, and fast enough not to delay the first sample.
        return soxr.resample(samples.astype(np.float32, copy=False), rate, self.rate, quality="MQ")

    def play(self, samples: np.ndarray, rate: int, tag: object = None) -> None:
        """Queue mono float32 samples at ``rate``; they play after everything already queued."""
        if len(samples) == 0:
            return
        samples = self.prepare(samples, rate)
        with self._lock:
            self._segments.append(_Segment(np.ascontiguousarray(samples, np.float32), tag))
            self._idle.clear()

    def stop(self) -> None:
        """Drop all queued audio; the speaker is silent from the next block on."""
        with self._lock:
            if self.busy:  # what the device has buffered is still heard
                self.silent_since = time.monotonic() + self.latency_s
            self._segments.clear()
            self._paused = False
            self._idle.set()

    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def busy(self) -> bool:
        """Audio queued or playing (paused audio counts)."""
        return not self._idle.is_set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    # -- the audio thread --------------------------------------------------------------------
    def _callback(self, outdata, frames, time_info, status) -> None:
        if getattr(status, "output_underflow", False):
            self.underruns += 1
        out = outdata[:, 0]
        out.fill(0.0)
        heard_at = self._clock.update(self._frames_out, self._heard_at(time_info))
        self._frames_out += frames
        with self._lock:
            filled = 0 if self._paused else self._fill(out, frames, heard_at)
            if filled:
                self.sound_until = heard_at + filled / self.rate
            if not self._segments and not self._paused:
                if self.busy:
                    self.silent_since = heard_at + filled / self.rate
                self._idle.set()
        if outdata.shape[1] > 1:
            outdata[:, 1:] = outdata[:, :1]
        if self.on_played is not None:
            self.on_played(out.copy(), self.rate, heard_at)

    def _fill(self, out: np.ndarray, frames: int, heard_at: float) -> int:
        filled = 0
        while filled < frames and self._segments:
            segment = self._segments[0]
            if segment.position == 0 and self.on_segment is not None:
                self.on_segment(segment.tag, heard_at + filled / self.rate)
            take = min(frames - filled, len(segment.samples) - segment.position)
            out[filled : filled + take] = segment.samples[segment.position : segment.position + take]
            segment.position += take
            filled += take
            if segment.position >= len(segment.samples):
                self._segments.popleft()
        return filled

    @staticmethod
    def _heard_at(time_info) -> float:
        """When this block reaches the speaker, on the ``time.monotonic`` clock (as reported)."""
        now = time.monotonic()
        try:
            ahead = float(time_info.outputBufferDacTime) - float(time_info.currentTime)
        except (AttributeError, TypeError):
            return now
        return now + ahead if 0.0 <= ahead < 1.0 else now
