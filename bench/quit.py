"""How long quitting the window takes once the model has answered: ``Controller.shutdown()``.

The real window offscreen with the tiny offline model (built into a temporary folder): one
question answered, then the quit, timed part by part (the engine's child process is most of it).
Prints a table and ends with one JSON line:
{"bench": "quit", "quit_ms": …, "engine_ms": …, "runs": …}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

RUNS = 3


def answered_window(model: Path, app):
    from app.gui import build_window

    window, controller = build_window()
    controller.settings.model = str(model)
    controller.settings.max_new_tokens = 8
    window.show()
    controller.ask("Hello?")
    while controller.bridge.busy or controller.turn_view is not None:
        app.processEvents()
        time.sleep(0.01)
    return window, controller


def one_quit(model: Path, app) -> tuple[float, float]:
    window, controller = answered_window(model, app)
    times: list[float] = []  # the engine's part: the bridge shuts the engine's child process down
    controller.bridge.shutdown = lambda shutdown=controller.bridge.shutdown: _timed(shutdown, times)
    started = time.perf_counter()
    controller.shutdown()
    total = (time.perf_counter() - started) * 1000
    window.close()
    return total, times[0] if times else 0.0


def _timed(call, times: list[float]) -> None:
    started = time.perf_counter()
    call()
    times.append((time.perf_counter() - started) * 1000)


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HERON_HOME"] = tempfile.mkdtemp(prefix="heron-quit-")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from PySide6.QtWidgets import QApplication

    from engine.model.tiny import build_tiny_model

    app = QApplication.instance() or QApplication([])
    model = build_tiny_model(Path(tempfile.mkdtemp(prefix="heron-tiny-")))
    runs = [one_quit(model, app) for _ in range(RUNS)]
    print(f"{'run':>4} {'quit ms':>9} {'engine ms':>10}")
    for number, (total, engine) in enumerate(runs, 1):
        print(f"{number:>4} {total:>9.0f} {engine:>10.0f}")
    result = {
        "bench": "quit",
        "quit_ms": round(statistics.median(r[0] for r in runs)),
        "engine_ms": round(statistics.median(r[1] for r in runs)),
        "runs": RUNS,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
