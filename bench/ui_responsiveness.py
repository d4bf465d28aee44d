"""The longest event-loop stall of the window while the model loads and an answer streams in.

Opens the real window and controller offscreen with the tiny model, opens a recording, loads
the model and asks a question, while a 5 ms timer measures how late the event loop serves it.
Prints a table and ends with one JSON line: {"bench": "ui_responsiveness", "max_stall_ms": …}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICK_MS = 5


class StallMeter:
    def __init__(self):
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer(interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000 - TICK_MS)
        self._last = now


def run_until(app, done, timeout: float) -> float:
    started = time.perf_counter()
    while not done() and time.perf_counter() - started < timeout:
        app.processEvents()
        time.sleep(0.001)
    return time.perf_counter() - started


def main() -> None:
    from PySide6.QtWidgets import QApplication

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HERON_HOME"] = tmp
        from app.gui import build_window
        from engine.audio import SAMPLE_RATE
        from engine.model.tiny import build_tiny_model
        from engine.requests import LoadRequest, ModelChoice
        from tests import media

        model = build_tiny_model(Path(tmp) / "tiny")
        recording = media.write_wav(
            Path(tmp) / "talk.wav", media.speech("A short question about the weather."), SAMPLE_RATE
        )
        app = QApplication.instance() or QApplication([])
        window, controller = build_window()
        controller.settings.model, controller.settings.max_new_tokens = str(model), 200
        window.show()
        phases = []
        meter = StallMeter()
        controller.open_recording(str(recording))
        phases.append(
            ("open recording", run_until(app, lambda: controller.recording is not None, 30), len(meter.gaps))
        )
        controller.bridge.load(LoadRequest(ModelChoice(str(model), tmp, "fp32", "cpu")))
        phases.append(
            (
                "engine start + model load",
                run_until(app, lambda: not controller.bridge.busy, 60),
                len(meter.gaps),
            )
        )
        controller.ask("What is said?")
        phases.append(
            (
                "streamed answer",
                run_until(app, lambda: controller.turn_view is None and not controller.bridge.busy, 60),
                len(meter.gaps),
            )
        )
        controller.shutdown()
    start = 0
    print(f"{'phase':<28} {'seconds':>8} {'max stall ms':>13} {'median ms':>10}")
    for name, seconds, end in phases:
        gaps = meter.gaps[start:end] or [0.0]
        print(f"{name:<28} {seconds:>8.2f} {max(gaps):>13.1f} {statistics.median(gaps):>10.2f}")
        start = end
    print(json.dumps({"bench": "ui_responsiveness", "max_stall_ms": round(max(meter.gaps), 1)}))


if __name__ == "__main__":
    main()
