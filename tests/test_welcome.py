"""The first-run welcome: this computer's facts and advice, a model imported with progress, the sound
page, skip and finish remembered; screenshots of each page under Xvfb."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow

from app.settings import Settings
from app.welcome import WelcomeFlow, welcome_due
from engine.model.registry import installed_models
from tests.screenshots import assert_drawn, run_under_xvfb
from ui.welcome import PAGES

OUT = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture
def flow(qtbot, tmp_path: Path):
    window = QMainWindow()
    qtbot.addWidget(window)
    store = QSettings(str(tmp_path / "heron.ini"), QSettings.Format.IniFormat)
    welcome = WelcomeFlow(window, Settings(), store, tmp_path / "models")
    welcome.open()
    yield welcome
    welcome.dialog.reject()  # closing stops the level meter's microphone stream
    welcome.panel.wait(10)


def test_the_first_page_shows_the_computer_and_a_model_that_fits(flow):
    dialog = flow.dialog
    assert dialog.current_page() == "computer" and not dialog.back.isEnabled()
    assert dialog.gpu.text().startswith("GPU: ") and dialog.ram.text().startswith("Memory: ")
    assert dialog.advice.text().startswith("Recommended:")
    assert "GB to download" in dialog.download_size.text() and "free on disk" in dialog.download_size.text()


def test_next_and_back_walk_the_pages_and_finish_is_remembered(flow):
    dialog, seen = flow.dialog, []
    dialog.page_shown.connect(seen.append)
    for _ in PAGES[1:]:
        dialog.next.click()
    assert dialog.current_page() == "done" and dialog.next.text() == "Finish" and not dialog.skip.isVisible()
    dialog.back.click()
    assert seen == ["model", "sound", "done", "sound"]
    assert welcome_due(flow.store)
    dialog.show_page("done")
    dialog.next.click()
    assert not welcome_due(flow.store)


def test_skip_is_remembered_too(flow):
    flow.dialog.skip.click()
    assert not welcome_due(flow.store)


def test_importing_a_folder_shows_progress_and_makes_the_model_ready(flow, qtbot, tiny_model: Path):
    flow.dialog.show_page("model")
    with qtbot.waitSignal(flow.model_ready, timeout=30000) as ready:
        flow.dialog.import_requested.emit(str(tiny_model))
    assert ready.args == [flow.model]
    assert flow.dialog.progress.value() == 1000 and "is ready" in flow.dialog.model_status.text()
    assert [m.name for m in installed_models(flow.models_dir) if m.complete] == [flow.model]
    assert flow.dialog.download.isEnabled()


def test_a_folder_without_weights_is_refused_with_the_reason(flow, qtbot, tmp_path: Path):
    flow.dialog.import_requested.emit(str(tmp_path / "missing"))
    assert "not a folder" in flow.dialog.model_status.text()
    (tmp_path / "empty").mkdir()
    flow.dialog.import_requested.emit(str(tmp_path / "empty"))
    qtbot.waitUntil(lambda: "no .safetensors" in flow.dialog.model_status.text(), timeout=10000)
    assert flow.dialog.download.isEnabled()


def test_the_sound_page_names_the_devices_and_hello_reports_back(flow, qtbot):
    flow.dialog.show_page("sound")
    assert flow.dialog.microphone.text().startswith("Microphone: ")
    assert flow.dialog.speaker.text().startswith("Speaker: ")
    assert "pulse" not in flow.dialog.microphone.text() + flow.dialog.speaker.text(), "names people know"
    flow.dialog.speaker_test.click()
    qtbot.waitUntil(lambda: "speak" in flow.dialog.sound_status.text() or "hear" in flow.dialog.sound_status.text(),
                    timeout=20000)  # fmt: skip


def test_screenshots_of_each_page():  # a real X server (Xvfb): about 3 s
    run_under_xvfb("tests.welcome_screenshots", str(OUT), timeout=120)
    for page in PAGES:
        assert_drawn(OUT / f"welcome-{page}.png", min_width=600)
