"""Screenshots of the app's main states in a real window (run under Xvfb by test_screenshots.py).

python -m tests.screenshots OUT_DIR TINY_MODEL_DIR [THEMES]  — for each theme (default
"light,dark") writes STATE.png (light) or STATE-dark.png for every state in STATES: the empty
window, the first run (welcome), a question asked before any model, a recording open, a question
being spoken, an answer with its steps, a long recording being read, Settings, Models, the trainer.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.events import Step
from tests import media

STATES = (
    "empty",
    "first-run",
    "no-model",
    "recording",
    "talking",
    "answer",
    "long",
    "settings",
    "models",
    "trainer",
)


def settle(app, seconds: float = 0.3) -> None:
    from PySide6.QtCore import QEvent

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # no event loop runs here to do it
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


def shot_name(state: str, theme: str) -> str:
    return f"{state}.png" if theme == "light" else f"{state}-{theme}.png"


class Shooter:
    """One pass over the states in one theme, on one window."""

    def __init__(self, app, window, controller, out: Path, theme: str):
        self.app, self.window, self.controller, self.out, self.theme = app, window, controller, out, theme

    def shoot(self, widget, state: str) -> None:
        shoot(self.app, widget, self.out / shot_name(state, self.theme))

    def run(self, recording: Path, dataset: Path) -> None:
        from ui.theme import apply_theme

        app, window, controller = self.app, self.window, self.controller
        apply_theme(self.theme)
        controller.new_conversation()
        self.shoot(window, "empty")
        self._first_run()
        self._no_model()
        controller.open_recording(str(recording))
        wait_for(app, lambda: controller.recording is not None)
        self.shoot(window, "recording")
        self._talking()
        self._answer()
        self._long()
        dialog = controller.open_settings()
        self.shoot(dialog, "settings")
        dialog.reject()
        controller.open_models()
        self.shoot(controller.models_dialog, "models")
        controller.models_dialog.close()
        self._trainer(dataset)

    def _first_run(self) -> None:
        from app.welcome import WelcomeFlow

        welcome = WelcomeFlow(
            self.window, self.controller.settings, self.controller.qsettings, self.out / "no-models"
        )
        welcome.dialog.show()
        self.shoot(welcome.dialog, "first-run")
        welcome.monitor.stop()
        welcome.dialog.hide()
        welcome.dialog.deleteLater()

    def _no_model(self) -> None:
        """A question asked before any model exists: kept, and the banner says so."""
        controller, model = self.controller, self.controller.settings.model
        from app.settings_panel import show_engine_summary

        controller.settings.model = ""
        show_engine_summary(controller)
        controller.ask("What is in this recording?")
        controller.models_dialog.close()
        self.shoot(self.window, "no-model")
        controller.before_model.question = None
        controller.use_model(model)

    def _talking(self) -> None:
        """Hold to talk, held: how the bar looks while a question is spoken (drawn, not recorded)."""
        bar = self.window.input
        bar.mic.setDown(True)
        bar.voice_state.setText("Recording…")
        bar.level.setEnabled(True)
        bar.set_level(0.6)
        self.shoot(self.window, "talking")
        bar.mic.setDown(False)
        bar.voice_state.setText("Microphone")
        bar.set_level(0)

    def _answer(self) -> None:
        controller = self.controller
        controller.window.input.set_think(True)
        controller.ask("What was decided?")
        wait_for(self.app, lambda: controller.turn_view is None and not controller.bridge.busy)
        view = self.window.chat.current
        for step in (
            Step(100, 0.2, 0.2, "Greeting at [00:00]."),
            Step(101, 1.2, 2.4, "The budget is approved, 00:01–00:02."),
        ):
            view.add_step(step)  # the tiny model cites no times: show what a real chain looks like
        controller.show_steps_of(view)
        self.shoot(self.window, "answer")

    def _long(self) -> None:
        """The progress of a long recording being heard part by part (as the engine reports it)."""
        progress = self.window.progress
        progress.show_progress(
            "Listening to the recording part by part: 3 of 8 parts, about 1 min left", 3, 8
        )
        self.window.input.set_busy(True)
        self.shoot(self.window, "long")
        progress.hide()
        self.window.input.set_busy(False)

    def _trainer(self, dataset: Path) -> None:
        trainer = self.controller.open_trainer()
        trainer.window.set_dataset(str(dataset))
        wait_for(self.app, lambda: trainer.window.start.isEnabled(), timeout=20)
        chart = trainer.window.chart
        chart.clear()
        chart.set_total(60)
        for step in range(1, 41):
            chart.add_train(step, 3.0 / (1 + step / 8) + 0.05 * ((step * 7) % 5) / 5)
            if step % 10 == 0:
                chart.add_eval(step, 3.2 / (1 + step / 9))
        self.shoot(trainer.window, "trainer")
        trainer.window.hide()


def main(out: Path, model: Path, themes: list[str]) -> None:
    from PySide6.QtWidgets import QApplication

    from app.gui import build_window
    from bench.beeps import write_dataset

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    window, controller = build_window()
    controller.settings.max_new_tokens = 24
    controller.use_model(str(model))  # as the Models window does: the status bar says so
    window.resize(1280, 800)
    window.show()
    recording = media.write_wav(
        out / "meeting.wav", media.speech("Welcome everyone. The budget is approved. Next item."), 16000
    )
    dataset = write_dataset(out / "beeps", clips=6, seed=1, seconds=(1.0, 1.5))
    for theme in themes:
        Shooter(app, window, controller, out, theme).run(recording, dataset)
    controller.shutdown()


if __name__ == "__main__":
    main(
        Path(sys.argv[1]), Path(sys.argv[2]), (sys.argv[3] if len(sys.argv) > 3 else "light,dark").split(",")
    )
