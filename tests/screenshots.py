"""Screenshots of the app's main states in a real window (run under Xvfb by test_screenshots.py).

python -m tests.screenshots OUT_DIR TINY_MODEL_DIR  — writes empty.png, recording.png,
answer.png, settings.png and models.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.events import Step
from tests import media


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_for(app, condition, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(app, widget, path: Path) -> None:
    settle(app)
    widget.grab().save(str(path))


def run_under_xvfb(module: str, *args: str, timeout: float = 300) -> None:
    """``python -m module args`` in a real X server (Xvfb), as a test: fails with its stderr."""
    import os
    import shutil
    import subprocess

    import pytest

    if shutil.which("xvfb-run") is None:
        pytest.fail("xvfb-run is missing: install the xvfb package (the test installer does)")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    command = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", sys.executable, "-m", module, *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]


def assert_drawn(path: Path, min_width: int = 300) -> None:
    """The screenshot exists, is wide enough and is not one flat colour."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull() and image.width() >= min_width, path.name
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
    assert len(colours) > 5, f"{path.name} looks blank"


def main(out: Path, model: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from app.gui import build_window

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    window, controller = build_window()
    controller.settings.model, controller.settings.max_new_tokens = str(model), 24
    window.resize(1280, 800)
    window.show()
    shoot(app, window, out / "empty.png")
    recording = media.write_wav(
        out / "meeting.wav", media.speech("Welcome everyone. The budget is approved. Next item."), 16000
    )
    controller.open_recording(str(recording))
    wait_for(app, lambda: controller.recording is not None)
    shoot(app, window, out / "recording.png")
    controller.ask("What was decided?")
    wait_for(app, lambda: controller.turn_view is None and not controller.bridge.busy)
    view = window.chat.current
    for step in (
        Step(100, 0.2, 0.2, "Greeting at [00:00]."),
        Step(101, 1.2, 2.4, "The budget is approved, 00:01–00:02."),
    ):
        view.add_step(step)  # the tiny model cites no times: show what a real chain looks like
    controller.show_steps_of(view)
    shoot(app, window, out / "answer.png")
    dialog = controller.open_settings()
    shoot(app, dialog, out / "settings.png")
    dialog.close()
    controller.open_models()
    shoot(app, controller.models_dialog, out / "models.png")
    controller.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
