"""The window's side of bench/long_memory.py: RSS while the window opens, shows and plays a long file.

Run by ``bench/long_memory.py --window`` in a fresh process; returns the figures as a dict.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sounddevice  # noqa: E402
from PySide6.QtCore import QEventLoop  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.player import RecordingPlayer  # noqa: E402
from app.recording_loader import RecordingLoader  # noqa: E402
from ui.waveform import WaveformView  # noqa: E402

PLAY_FROM_S = 9 * 3600.0
PLAY_S = 10.0
BLOCK = 512


class PeakRss:
    """The process's largest RSS since the last ``take``, sampled every 10 ms in a thread."""

    def __init__(self):
        self._process, self._peak, self._stop = psutil.Process(), 0, threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def now_mb(self) -> float:
        return self._process.memory_info().rss / 2**20

    def take(self) -> float:
        peak, self._peak = self._peak, 0
        return max(peak, self._process.memory_info().rss) / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._peak = max(self._peak, self._process.memory_info().rss)


class NullOutput:
    """A sound device that plays into nothing, pulling the player's blocks in real time."""

    def __init__(self, *, callback, samplerate, blocksize, **_):
        self.callback, self.rate, self.block, self.latency = callback, samplerate, blocksize, 0.0
        self._stop = threading.Event()

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        out = np.zeros((self.block, 1), np.float32)
        while not self._stop.wait(self.block / self.rate):
            self.callback(out, self.block, None, None)

    def stop(self):
        self._stop.set()

    def close(self):
        pass


def wait(app: QApplication, seconds: float, until=lambda: False) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def measure(recording: Path) -> dict:
    app = QApplication.instance() or QApplication([])
    rss = PeakRss()
    sounddevice.OutputStream = NullOutput  # no shared sound device is touched
    view, player = WaveformView(), RecordingPlayer()
    loader = RecordingLoader(Path(os.environ["HERON_HOME"]) / "cache")
    view.resize(1920, 300)
    view.show()
    image = QImage(1920, 300, QImage.Format.Format_ARGB32_Premultiplied)
    view.render(image)
    wait(app, 1.0)
    idle = rss.take()
    opened: list = []
    loader.loaded.connect(lambda *args: opened.append(args))
    started = time.perf_counter()
    loader.open(str(recording))
    wait(app, 1800, lambda: bool(opened))
    open_s = time.perf_counter() - started
    _, source, peaks = opened[0]
    open_peak = rss.take()
    play_from = min(PLAY_FROM_S, source.duration_s - 2 * PLAY_S)  # 9:00:00, or near the end of a shorter one
    player.set_recording(source)
    view.set_peaks(peaks)
    view.render(image)  # the whole recording
    view.set_visible_range(play_from, play_from + 0.05)  # zoomed to the sample: read from the file
    view.render(image)
    shown = rss.take()
    player.seek(play_from)
    player.play()
    wait(app, PLAY_S)
    played_s = player.position() - play_from
    player.close()
    playing = rss.take()
    return {
        "idle_rss_mb": round(idle),
        "open_peak_rss_mb": round(open_peak),
        "shown_rss_mb": round(shown),
        "playing_peak_rss_mb": round(playing),
        "above_idle_mb": round(max(open_peak, shown, playing) - idle),
        "open_s": round(open_s, 1),
        "played_from_s": round(play_from),
        "played_s": round(played_s, 1),
    }
