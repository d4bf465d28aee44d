"""The microphone: an input stream at the device's own rate, handed out as 16 kHz mono float32.

Opening a device at 16 kHz would make PortAudio or the sound server resample it, often badly
and with extra latency; ``LiveResampler`` does it here, with no clicks between blocks and every
block's share handed out at once.
The stream callback only copies and queues (it runs on the audio thread); ``read`` does the rest.

A device that stops delivering blocks (unplugged, server gone) raises ``DeviceLostError`` from
``read``, so a turn can end with a clear message and keep what it recorded.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from engine.audio import SAMPLE_RATE
from engine.errors import DeviceError
from engine.voice.clock import StreamClock
from engine.voice.devices import SoundDevice
from engine.voice.resampler import LiveResampler

RATE = SAMPLE_RATE
FIRST_BLOCK_TIMEOUT_S = 6.0  # some servers deliver the first block a second or two late
STALL_S = 2.0  # a running stream silent for this long is gone


class DeviceLostError(DeviceError):
    """The microphone stopped delivering sound mid-stream."""


StreamFactory = Callable[..., object]


def _sounddevice_stream(**kwargs):
    import sounddevice as sd

    return sd.InputStream(**kwargs)


class Capture:
    """An open microphone; ``read`` returns what arrived since the last call, at 16 kHz."""

    def __init__(
        self,
        device: SoundDevice,
        block_ms: int = 10,
        stream_factory: StreamFactory = _sounddevice_stream,
        stall_s: float = STALL_S,
        first_block_timeout_s: float = FIRST_BLOCK_TIMEOUT_S,
    ):
        self.device = device
        self.native_rate = int(device.default_rate)
        self.block_ms = block_ms
        self.stall_s = stall_s
        self.first_block_timeout_s = first_block_timeout_s
        self._factory = stream_factory
        self._blocks: queue.SimpleQueue = queue.SimpleQueue()
        self._resampler = LiveResampler(self.native_rate, RATE)
        self._stream = None
        self._opened_at = 0.0
        self._last_block_at: float | None = None
        self._failed: str | None = None
        self._ready = threading.Event()
        self.samples_read = 0  # 16 kHz samples handed out: the stream clock
        self.latency_s = 0.0  # the device's input latency, as the stream reports it
        self._clock = StreamClock(self.native_rate)
        self._frames_in = 0  # samples the device delivered so far

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._stream = self._factory(
                device=self.device.index,
                samplerate=self.native_rate,
                channels=min(self.device.max_inputs, 2) or 1,
                dtype="float32",
                blocksize=max(1, self.native_rate * self.block_ms // 1000),
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
            self.latency_s = float(getattr(self._stream, "latency", 0.0) or 0.0)
        except Exception as exc:  # PortAudioError, or the device vanished between listing and opening
            raise DeviceError(
                f"The microphone {self.device.name!r} cannot be opened ({exc}): check that it is connected "
                "and not used exclusively by another program."
            ) from exc
        self._opened_at = time.monotonic()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(
                Exception
            ):  # closing a stream whose device is gone may fail; nothing to keep
                stream.close()

    @property
    def running(self) -> bool:
        return self._stream is not None

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the first block arrived (a virtual or Bluetooth device can take seconds)."""
        return self._ready.wait(timeout)

    # -- the audio thread --------------------------------------------------------------------
    def _callback(self, indata, frames, time_info, status) -> None:
        now = time.monotonic()
        try:
            behind = float(time_info.currentTime) - float(time_info.inputBufferAdcTime)
        except (AttributeError, TypeError):
            behind = self.latency_s
        started = now - (behind if 0.0 <= behind < 1.0 else self.latency_s)
        self._clock.update(self._frames_in, started)
        self._frames_in += frames
        self._blocks.put(indata.mean(axis=1) if indata.shape[1] > 1 else indata[:, 0].copy())
        self._last_block_at = now
        self._ready.set()

    def _finished(self) -> None:
        if self._stream is not None:
            self._failed = "its stream ended"

    # -- the reader --------------------------------------------------------------------------
    def read(self, timeout: float = 0.05) -> np.ndarray:
        """16 kHz samples captured since the last call (possibly none after ``timeout``)."""
        blocks = []
        try:
            blocks.append(self._blocks.get(timeout=timeout))
            while True:
                blocks.append(self._blocks.get_nowait())
        except queue.Empty:
            pass
        if not blocks:
            self._check_alive()
            return np.zeros(0, np.float32)
        audio = np.concatenate(blocks).astype(np.float32, copy=False)
        out = self._resampler.process(audio)
        self.samples_read += len(out)
        return out

    def time_of(self, position_s: float) -> float:
        """The ``time.monotonic`` moment at which the 16 kHz stream position ``position_s`` was captured.

        From the device's own smoothed clock at the same position in native samples (the echo
        canceller lines the speaker's stream up with the microphone's by these times).
        """
        return self._clock.time_of(position_s * self.native_rate)

    def _check_alive(self) -> None:
        if self._stream is None:
            return
        now = time.monotonic()
        if self._failed:
            reason = self._failed
        elif self._last_block_at is None:
            if now - self._opened_at < self.first_block_timeout_s:
                return
            reason = f"no sound arrived in {self.first_block_timeout_s:.0f} s"
        elif now - self._last_block_at > self.stall_s:
            reason = f"no sound for {now - self._last_block_at:.1f} s"
        else:
            return
        raise DeviceLostError(
            f"The microphone {self.device.name!r} stopped working ({reason}; was it unplugged?): "
            "reconnect it or choose another with --input."
        )
