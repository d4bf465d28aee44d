"""The settings' live sound checks: a microphone level meter and a test tone, via sounddevice;
and the sound devices by names a person recognises."""

from __future__ import annotations

import atexit
import re

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


# ALSA's plugin devices (and the desktop's sound server itself): the same sound as "System default"
# under another name, or a raw output format. They are listed only when chosen before.
PLUGIN_DEVICES = {"default", "sysdefault", "pulse", "pipewire", "jack", "oss", "dmix", "dsnoop", "front",
                  "rear", "center_lfe", "side", "iec958", "spdif", "hdmi", "lavrate", "samplerate",
                  "speexrate", "upmix", "vdownmix", "surround21", "surround40", "surround41", "surround50",
                  "surround51", "surround71", "null"}  # fmt: skip
_HARDWARE = re.compile(r"^(?P<card>.+?): (?P<device>.+?) \((?P<hw>hw:\d+,\d+)\)$")


def device_label(name: str) -> str:
    """ "HDA Intel PCH: ALC295 Analog (hw:0,0)" → "HDA Intel PCH — ALC295 Analog"."""
    if found := _HARDWARE.match(name):
        card, device = found["card"], found["device"]
        return device if device.startswith(card) else f"{card} — {device}"
    return {"pulse": "Desktop sound server (PulseAudio)", "pipewire": "Desktop sound server (PipeWire)",
            "default": "System default", "sysdefault": "System default (ALSA)"}.get(name, name)  # fmt: skip


def device_choices(names: list[str]) -> list[tuple[str, str]]:
    """(label, device name) for a settings list: real devices by their card and port names,
    without the plugin aliases that say nothing ("pulse", "default", "dmix" …)."""
    return [(device_label(n), n) for n in names if n.split(":")[0].lower() not in PLUGIN_DEVICES]


_open_streams: set = set()  # every meter's stream until it closes: none may outlive the interpreter


@atexit.register
def _close_streams() -> None:
    for stream in list(_open_streams):
        stream.close()
    _open_streams.clear()


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
            _open_streams.add(self._stream)
            self._stream.start()
        except Exception as exc:  # no PortAudio, a device gone: said in the dialog, not raised
            self.failed.emit(f"Cannot open the microphone: {' '.join(str(exc).split())}")
            return
        self._timer.start()

    @property
    def listening(self) -> bool:
        return self._stream is not None and self._stream.active

    def stop(self) -> None:
        self._timer.stop()
        if self._stream is not None:
            self._stream.close()
            _open_streams.discard(self._stream)
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
