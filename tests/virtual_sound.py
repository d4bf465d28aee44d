"""Virtual sound devices for the voice tests and the latency bench (PulseAudio null sinks).

``packaging/sound-server.sh`` starts the server: ``vsink`` is the speaker Heron plays to (its
``vsink.monitor`` records it), ``vmic`` is a sink whose monitor is the microphone ``vmic_src``.
PortAudio only sees PulseAudio as one device ("pulse"); which sink or source a stream uses is
picked by the PULSE_SINK / PULSE_SOURCE environment variables at the moment it is opened, so
the helpers here open theirs under a lock with the variable set, and Heron's own streams get the
defaults (vsink, vmic_src).

- ``VirtualMic``: plays samples into the microphone and says when they were heard there.
- ``SpeakerRecorder``: records what the speaker played, with a monotonic time for every sample.
- ``echo_path``: routes the speaker back into the microphone (module-loopback), like a laptop
  whose microphone hears its own speakers.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soxr

REPO = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = REPO / "packaging" / "sound-server.sh"
_env_lock = threading.Lock()


def ensure_server() -> None:
    """Start the virtual sound server unless it is already up (idempotent)."""
    subprocess.run(["bash", str(SERVER_SCRIPT)], check=True, capture_output=True, timeout=30)


def pulse_device():
    """The PortAudio device that talks to PulseAudio, as a ``SoundDevice``."""
    from engine.voice.devices import list_devices

    devices = list_devices()
    return next(d for d in devices if d.name == "pulse")


@contextmanager
def _pulse_env(name: str, value: str):
    with _env_lock:
        old = os.environ.get(name)
        os.environ[name] = value
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


class VirtualMic:
    """Speak into the virtual microphone (the ``vmic`` sink)."""

    def __init__(self, sink: str = "vmic"):
        from engine.voice.playback import Player

        self._starts: dict[object, float] = {}
        self.player = Player(pulse_device(), on_segment=self._on_segment)
        with _pulse_env("PULSE_SINK", sink):
            self.player.start()

    def _on_segment(self, tag: object, heard_at: float) -> None:
        self._starts[tag] = heard_at

    def play(self, samples: np.ndarray, rate: int = 16000, wait: bool = True) -> tuple[float, float]:
        """Play ``samples``; with ``wait``, return when they were heard: (first sample, last loud sample)."""
        tag = object()
        self.player.play(samples, rate, tag)
        if not wait:
            return (0.0, 0.0)
        self.player.wait_idle(len(samples) / rate + 10)
        start = self._starts[tag]
        loud = np.nonzero(np.abs(samples) > 0.01)[0]
        last = loud[-1] if len(loud) else len(samples) - 1
        return start, start + last / rate

    def heard_at(self, tag: object) -> float | None:
        return self._starts.get(tag)

    def close(self) -> None:
        self.player.close()


class SpeakerRecorder:
    """Record the virtual speaker (``vsink.monitor``) with a monotonic time for every block."""

    def __init__(self, source: str = "vsink.monitor", rate: int = 16000):
        import sounddevice as sd

        device = pulse_device()
        self.rate = rate
        self._native = int(device.default_rate)
        self._blocks: list[tuple[float, np.ndarray]] = []
        self._lock = threading.Lock()
        with _pulse_env("PULSE_SOURCE", source):
            self._stream = sd.InputStream(
                device=device.index,
                samplerate=self._native,
                channels=1,
                dtype="float32",
                blocksize=self._native // 100,
                latency="low",
                callback=self._callback,
            )
            self._stream.start()

    def _callback(self, indata, frames, time_info, status) -> None:
        now = time.monotonic()
        try:
            behind = float(time_info.currentTime) - float(time_info.inputBufferAdcTime)
        except (AttributeError, TypeError):
            behind = 0.0
        captured_at = now - (behind if 0.0 <= behind < 1.0 else 0.0)
        with self._lock:
            self._blocks.append((captured_at, indata[:, 0].copy()))

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()

    def _timeline(self, after: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(sample times, samples) at the native rate; with ``after``, only from blocks that end later.

        Polled every few milliseconds by the bench and the tests, so it looks at the recent
        blocks only: building the whole recording each time held the interpreter for tens of
        milliseconds and made Heron's own speaker underrun, which is not what is measured.
        """
        with self._lock:
            first = 0 if after is None else len(self._blocks)
            while first > 0 and self._ends_after(self._blocks[first - 1], after):
                first -= 1
            blocks = self._blocks[first:]
        if not blocks:
            return np.zeros(0), np.zeros(0, np.float32)
        times = np.concatenate([t + np.arange(len(b)) / self._native for t, b in blocks])
        return times, np.concatenate([b for _, b in blocks])

    def _ends_after(self, block: tuple[float, np.ndarray], moment: float) -> bool:
        return block[0] + len(block[1]) / self._native >= moment

    def audio(self) -> np.ndarray:
        """Everything recorded so far, at ``rate``."""
        _, samples = self._timeline()
        return soxr.resample(samples, self._native, self.rate).astype(np.float32) if len(samples) else samples

    def onset_after(self, after: float, threshold: float = 0.01) -> float | None:
        """The monotonic time of the first sample louder than ``threshold`` after ``after``."""
        times, samples = self._timeline(after)
        loud = np.nonzero((times > after) & (np.abs(samples) > threshold))[0]
        return float(times[loud[0]]) if len(loud) else None

    def silent_from(self, after: float, hold_s: float = 0.1, threshold: float = 0.01) -> float | None:
        """The start of the first stretch of ``hold_s`` of silence after ``after``."""
        times, samples = self._timeline(after)
        mask = times > after
        times, loud = times[mask], np.abs(samples[mask]) > threshold
        if not len(times):
            return None
        last_loud = times[0]
        for t, is_loud in zip(times, loud, strict=True):
            if is_loud:
                last_loud = t
            elif t - last_loud >= hold_s:
                return float(last_loud)
        return None

    def close(self) -> None:
        self._stream.close()


@contextmanager
def echo_path(latency_ms: int = 30, volume: float = 0.6):
    """Route the speaker into the microphone, as laptop speakers reach the laptop's microphone."""
    module = subprocess.run(
        ["pactl", "load-module", "module-loopback", "source=vsink.monitor", "sink=vmic",
         f"latency_msec={latency_ms}", "source_dont_move=true", "sink_dont_move=true"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    try:
        inputs = subprocess.run(
            ["pactl", "list", "short", "sink-inputs"], capture_output=True, text=True
        ).stdout
        for line in inputs.splitlines():
            fields = line.split("\t")
            if len(fields) > 2 and fields[2] == module:
                subprocess.run(
                    ["pactl", "set-sink-input-volume", fields[0], f"{round(volume * 65536)}"], check=False
                )
        yield
    finally:
        subprocess.run(["pactl", "unload-module", module], check=False, capture_output=True)


try:
    import pytest
except ImportError:  # the bench uses this module without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def sound_server():
        """The virtual sound server, started unless one runs; PortAudio made to see its devices."""
        from engine.voice.devices import refresh

        ensure_server()
        refresh()
        yield
