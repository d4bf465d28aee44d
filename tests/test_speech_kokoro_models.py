"""The Kokoro voice in ``heron models``: listed with its state, downloaded by name, never taken for a model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import heron


def fake_kokoro(models_dir: Path) -> Path:
    """The files a finished Kokoro download leaves (contents do not matter to the listing)."""
    from engine.speech.kokoro import COMPLETE_MARKER, CONFIG_FILE, DEFAULT_VOICE, WEIGHTS_FILE, kokoro_dir

    folder = kokoro_dir(models_dir)
    (folder / "voices").mkdir(parents=True)
    (folder / CONFIG_FILE).write_text("{}")
    (folder / WEIGHTS_FILE).write_bytes(b"\0" * 2_000_000)
    (folder / "voices" / f"{DEFAULT_VOICE}.pt").write_bytes(b"\0" * 1000)
    (folder / COMPLETE_MARKER).write_text(json.dumps({"files": []}))
    return folder


def test_models_list_says_how_to_get_the_kokoro_voice():
    result = heron("models", "list")
    assert result.status == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("kokoro"))
    assert "not downloaded" in line and "heron models download kokoro" in line
    assert "Apache-2.0" in result.stdout


def test_an_installed_kokoro_is_listed_as_the_voice_not_as_a_model(heron_home: Path):
    from engine.model.registry import installed_models

    models = heron_home / "data" / "models"
    fake_kokoro(models)
    result = heron("models", "list")
    line = next(line for line in result.stdout.splitlines() if line.startswith("kokoro"))
    assert "installed, 2 MB" in line
    assert "local folder" not in result.stdout
    assert installed_models(models) == []  # the app never offers it as the model to answer with


def test_downloading_kokoro_offline_says_what_to_do():
    result = heron("models", "download", "kokoro")  # tests run with HF_HUB_OFFLINE=1
    assert result.status == 2
    assert "Kokoro" in result.stderr and "heron: " in result.stderr
    assert "Traceback" not in result.stderr


def test_the_model_manager_has_a_kokoro_row_that_downloads_and_becomes_the_voice(qtbot, heron_home: Path):
    from app.gui import build_window

    window, controller = build_window()
    qtbot.addWidget(window)
    panel = controller.open_models()
    dialog = controller.models_dialog
    row = next(r for r in dialog.rows() if r.name == "kokoro")
    assert not row.installed and "to download" in row.size
    dialog.select("kokoro")
    assert dialog.buttons["download"].isEnabled() and not dialog.buttons["import"].isEnabled()
    dialog.buttons["download"].click()  # offline in tests: the failure must say what to do
    qtbot.waitUntil(lambda: not dialog.buttons["cancel"].isVisible(), timeout=20_000)
    assert "Hugging Face" in dialog.progress_label.text()

    fake_kokoro(heron_home / "data" / "models")
    panel.refresh()
    dialog.select("kokoro")
    dialog.buttons["use"].click()
    assert controller.settings.voice == "kokoro" and controller.settings.model == ""
    assert next(r for r in dialog.rows() if r.name == "kokoro").in_use
    controller.shutdown()
