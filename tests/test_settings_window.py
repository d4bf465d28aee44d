"""Tools → Settings on the real window: the level meter listens from the moment it opens (and
stops when it closes), devices by recognisable names, only the compute this computer has, and
errors worded for the window."""

from __future__ import annotations

import numpy as np
import pytest

from app import settings_panel
from app.sound_check import device_choices
from tests.virtual_sound import VirtualMic, sound_server  # noqa: F401  (fixture)
from ui.window_words import for_window


def choices(combo) -> list:
    return [combo.itemData(i) for i in range(combo.count())]


def labels(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_level_meter_moves_as_soon_as_settings_opens(app, qtbot, sound_server):  # noqa: F811
    window, controller = app
    mic = VirtualMic()
    try:
        dialog = controller.open_settings()
        assert dialog.monitor.listening, "the microphone opens with the dialog, not on a change"
        tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(16000 * 2) / 16000)).astype(np.float32)
        mic.play(tone, wait=False)
        qtbot.waitUntil(lambda: dialog.level.value() > 0, timeout=10_000)
        dialog.reject()
        assert not dialog.monitor.listening, "closing the dialog closes the input stream"
    finally:
        mic.close()


def test_devices_read_as_people_know_them_and_system_default_comes_first(app):
    window, controller = app
    dialog = controller.open_settings()
    try:
        for key in ("input_device", "output_device"):
            combo = dialog._fields[key]
            assert labels(combo)[0] == "System default" and choices(combo)[0] == ""
            assert not {"pulse", "default"} & set(choices(combo)), labels(combo)
    finally:
        dialog.reject()
    names = ["pulse", "default", "HDA Intel PCH: ALC295 Analog (hw:0,0)", "USB Audio Device: USB Audio (hw:2,0)",
             "sysdefault", "dmix", "front:CARD=PCH,DEV=0"]  # fmt: skip
    assert device_choices(names) == [
        ("HDA Intel PCH — ALC295 Analog", "HDA Intel PCH: ALC295 Analog (hw:0,0)"),
        ("USB Audio Device — USB Audio", "USB Audio Device: USB Audio (hw:2,0)"),
    ]


def test_run_on_offers_the_gpu_only_where_there_is_one(app, monkeypatch):
    window, controller = app
    monkeypatch.setattr(settings_panel, "gpu_name", lambda: None)
    dialog = controller.open_settings()
    assert choices(dialog._fields["device"]) == ["", "cpu"]
    dialog.reject()

    monkeypatch.setattr(settings_panel, "gpu_name", lambda: "NVIDIA RTX 4090")
    dialog = controller.open_settings()
    assert "GPU: NVIDIA RTX 4090" in labels(dialog._fields["device"])
    dialog.reject()

    monkeypatch.setattr(settings_panel, "gpu_name", lambda: None)
    controller.settings.device = "cuda"  # chosen on another computer, or before a driver went away
    dialog = controller.open_settings()
    combo = dialog._fields["device"]
    assert combo.currentText() == "GPU (none found on this computer)"
    dialog.reject()


def test_command_line_advice_is_worded_for_the_window(app):
    message = for_window("No CUDA GPU was found (or the installed torch has no CUDA): use --device cpu.")
    assert "--" not in message and "Tools → Settings → Model → Run on" in message
    message = for_window("Ran out of RAM loading the model in bf16: try --precision int8.")
    assert "--" not in message and "int8" in message and "Settings" in message
    message = for_window("Model 'think' is not downloaded (about 16.5 GB). "
                         "Run: heron models download think — or pass --model with a folder.")  # fmt: skip
    assert message.endswith("(about 16.5 GB). Download or import it in Tools → Models.")
    message = for_window("The microphone 'USB' stopped working: reconnect it or choose another with --input.")
    assert message.endswith("choose another in Tools → Settings → Sound.")
    window, controller = app
    window.banner.show_message("The Kokoro voice is not downloaded: run `heron models download kokoro`.")
    assert window.banner.text.text() == "The Kokoro voice is not downloaded: download it in Tools → Models."


@pytest.mark.skipif(settings_panel.gpu_name() is not None, reason="this computer has a GPU: no error to see")
def test_a_gpu_chosen_where_there_is_none_fails_in_words_for_the_window(app, qtbot):
    window, controller = app
    controller.settings.device = "cuda"
    controller.ask("Hello?")
    qtbot.waitUntil(lambda: not controller.bridge.busy and controller.turn_view is None, timeout=60_000)
    status = window.chat.current.status.text()
    assert status.startswith("⚠") and "--device" not in status and "Settings" in status, status
