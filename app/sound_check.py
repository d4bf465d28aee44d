"""The settings' live sound checks: a microphone level meter and a test tone, via sounddevice."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.audio import SAMPLE_RATE


def device_names() -> tuple[list[str], list[str]]:
    """(inputs, outputs) by name; empty when PortAudio or the devices are missing."""
    try:
        import sounddevice

        devices = sounddevice.query_devices()
    except Exception:  # no PortAudio library, no sound server: the lists stay empty
        return [], []
    inputs = [d["name"] for d in devices if d["max_input_channels"] > 0]
    outputs = [d["name"] for d in devices if d["max_output_channels"] > 0]
    return inputs, outputs


class LevelMonitor(QObject):
    level = Signal(float)  # 0..1, about 20 times a second
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._stream = None
        self._peak = 0.0
        self._timer = QTimer(self, interval=50)
        self._timer.timeout.connect(self._report)

    def start(self, device: str | None) -> None:
        self.stop()
        try:
            import sounddevice

            self._stream = sounddevice.InputStream(device=device or None, channels=1, callback=self._measure)
            self._stream.start()
        except Exception as exc:
            self.failed.emit(f"Cannot open the microphone: {exc}")
            return
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _measure(self, data: np.ndarray, frames, _time, _status) -> None:
        rms = float(np.sqrt(np.mean(np.square(data)))) if frames else 0.0
        self._peak = max(self._peak, min(1.0, rms * 4))  # speech at normal level fills about half

    def _report(self) -> None:
        self.level.emit(self._peak)
        self._peak = 0.0


def play_test_tone(device: str | None) -> str | None:
    """Half a second of a soft A; returns an error message instead of raising."""
    try:
        import sounddevice

        t = np.arange(int(0.5 * SAMPLE_RATE)) / SAMPLE_RATE
        tone = (0.2 * np.sin(2 * np.pi * 440 * t) * np.minimum(1, 10 * (0.5 - t))).astype(np.float32)
        sounddevice.play(tone, SAMPLE_RATE, device=device or None)
    except Exception as exc:
        return f"Cannot play on that speaker: {exc}"
    return None
