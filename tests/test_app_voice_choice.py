"""Choosing a voice in the window: Settings → Voice (the installed voices, Preview) and the model
manager's voice rows (licences, "Use this voice", removing an added voice)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np

from engine.model.registry import COMPLETE_MARKER
from engine.speech.piper import builtin_files


def add_fake_piper(heron_home: Path, stem: str = "en_US-extra-medium") -> Path:
    """An added Piper voice, as `heron models download piper` leaves it (the real joe model)."""
    folder = heron_home / "data" / "voices" / stem
    folder.mkdir(parents=True)
    (folder / f"{stem}.onnx").symlink_to(builtin_files().model)
    shutil.copy(builtin_files().config, folder / f"{stem}.onnx.json")
    (folder / "MODEL_CARD").write_text("* License: CC0\n")
    (folder / COMPLETE_MARKER).write_text("{}")
    return folder


def test_settings_list_the_installed_voices_and_preview_speaks(app, qtbot, heron_home):
    window, controller = app
    add_fake_piper(heron_home)
    dialog = controller.open_settings()
    controller.voice.attach_settings(dialog)
    controller.voice.attach_settings(dialog)  # once the controller calls it too: still one connection
    combo = dialog._fields["voice"]
    names = [combo.itemData(i) for i in range(combo.count())]
    assert names == ["piper", "piper:en_US-extra-medium", "espeak"]  # Kokoro is not downloaded here
    assert combo.currentData() == controller.settings.voice or controller.settings.voice not in names

    played: list[tuple[np.ndarray, int, str]] = []
    done = threading.Event()

    def fake_play(samples, rate, output_device=None):
        played.append((samples, rate, output_device))
        done.set()

    controller.voice.bridge.play = fake_play
    combo.setCurrentIndex(names.index("piper"))
    dialog._fields["speaking_rate"].setValue(1.0)
    dialog.preview.click()
    qtbot.waitUntil(done.is_set, timeout=20_000)
    assert len(played) == 1
    samples, rate, _ = played[0]
    assert rate == 22050 and len(samples) / rate > 1.5
    dialog.reject()


def test_the_model_manager_shows_each_voice_with_its_licence_and_uses_one(app, qtbot, heron_home):
    window, controller = app
    folder = add_fake_piper(heron_home)
    controller.open_models()
    dialog = controller.models_dialog
    voices = {r.name: r for r in dialog.rows() if r.kind == "voice"}
    assert list(voices) == ["piper", "piper:en_US-extra-medium", "kokoro", "espeak"]
    assert "GPL-3.0" in voices["piper"].licence and "CC0" in voices["piper"].licence
    assert "Apache-2.0" in voices["kokoro"].licence and "GPL-3.0" in voices["espeak"].licence
    model_before = controller.settings.model

    dialog.select("piper")
    assert dialog.buttons["use"].text() == "Use this voice" and dialog.buttons["use"].isEnabled()
    assert not dialog.buttons["download"].isEnabled() and not dialog.buttons["remove"].isEnabled()
    dialog.buttons["use"].click()
    assert controller.settings.voice == "piper" and controller.settings.model == model_before
    assert next(r for r in dialog.rows() if r.name == "piper").in_use

    dialog.select("piper:en_US-extra-medium")
    assert dialog.buttons["remove"].isEnabled()
    dialog.buttons["remove"].click()
    assert not folder.exists()
    assert "piper:en_US-extra-medium" not in [r.name for r in dialog.rows()]
    dialog.select("instruct")
    assert dialog.buttons["use"].text() == "Use this model"
