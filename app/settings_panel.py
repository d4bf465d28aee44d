"""Tools → Settings, wired: the choices this computer really has, and the live sound checks.

The dialog (ui/settings_dialog.py) shows plain values. Here the app fills it with what exists:
the models, the sound devices by names a person recognises, "GPU" only where there is one (read
through nvidia-smi: the window never imports torch). The level meter listens from the moment
the dialog opens and stops when it closes, so no input stream outlives it.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from functools import lru_cache

from PySide6.QtCore import Qt

from app import paths
from app.engine_choice import check_server
from app.sound_check import LevelMonitor, device_choices, device_names, play_test_tone


@lru_cache(maxsize=1)
def gpu_name() -> str | None:
    """The NVIDIA GPU's name, or None without one (asked once: a GPU does not appear mid-session)."""
    from app.models_panel import gpu_machine

    gpu = gpu_machine()
    return gpu.where.removeprefix("GPU memory on ") if gpu else None


def compute_choices(saved: str, gpu: str | None) -> list[tuple[str, str]]:
    """Where the model may run here: the GPU only when there is one. A saved GPU choice on a
    computer without one stays visible, marked, so the person sees why it cannot work."""
    choices = [("Automatic (the GPU if there is one)", "")]
    if gpu:
        choices.append((f"GPU: {gpu}", "cuda"))
    elif saved.startswith("cuda"):
        choices.append(("GPU (none found on this computer)", saved))
    choices.append(("CPU", "cpu"))
    return choices


def model_choices() -> list[tuple[str, str]]:
    from engine.model.registry import MODELS, installed_models

    models = [(spec.title, name) for name, spec in MODELS.items()]
    found = installed_models(paths.models_dir())
    return models + [(f"{m.name} (folder)", str(m.path)) for m in found if not m.spec]


def open_settings_dialog(controller):
    """The Settings dialog for ``controller``'s window, filled and wired; shown, and returned."""
    from ui.settings_dialog import SettingsDialog

    settings = controller.settings
    inputs, outputs = device_names()
    dialog = SettingsDialog(asdict(settings), model_choices(), device_choices(inputs), device_choices(outputs),
                            controller.window, compute_choices(settings.device, gpu_name()))  # fmt: skip
    dialog.accepted.connect(lambda: controller.apply_settings(dialog.values()))
    _wire_server_check(dialog, controller)
    _preview_theme(dialog, controller)
    controller.voice.attach_settings(dialog)  # the installed voices, with Preview
    dialog.show()
    _wire_sound_checks(dialog, settings.input_device, bool(inputs))
    return dialog


def _wire_sound_checks(dialog, microphone: str, any_microphone: bool) -> None:
    """The level meter listens from now until the dialog closes; the test tone says how it went."""
    dialog.monitor = monitor = LevelMonitor(dialog)
    monitor.level.connect(dialog.set_level)
    monitor.failed.connect(dialog.set_level_status)
    dialog.input_device_changed.connect(monitor.start)
    dialog.finished.connect(monitor.stop)
    dialog.test_sound_requested.connect(
        lambda device: dialog.set_level_status(play_test_tone(device) or "You should hear a short tone.")
    )
    if any_microphone:
        monitor.start(microphone or None)
    else:
        dialog.set_level_status("No microphone found: connect one to talk to Heron.")


def _wire_server_check(dialog, controller) -> None:
    """Test connection asks the server in a thread; its answer comes back while the dialog is open."""
    dialog.test_server_requested.connect(
        lambda url, token: threading.Thread(
            target=lambda: controller.server_checked.emit(check_server(url, token)), daemon=True
        ).start()
    )
    controller.server_checked.connect(dialog.show_server_status, Qt.ConnectionType.QueuedConnection)
    dialog.finished.connect(lambda _result: controller.server_checked.disconnect(dialog.show_server_status))


def _preview_theme(dialog, controller) -> None:
    """The theme shows as soon as it is chosen; Cancel puts the one in use back."""
    from ui.theme import apply_theme

    combo = dialog.theme_choice()
    combo.currentIndexChanged.connect(lambda: apply_theme(combo.currentData()))
    dialog.rejected.connect(lambda: apply_theme(controller.settings.theme))


def wire_think_toggle(controller) -> None:
    """The Think toggle beside the question box shows the setting and stores each change."""
    bar = controller.window.input
    bar.set_think(controller.settings.think)

    def store(on: bool) -> None:
        controller.settings.think = on
        controller.settings.save(controller.qsettings)

    bar.think_toggled.connect(store)


def engine_summary(settings, gpu: str | None) -> str:
    """The status bar's line: which model answers, in what precision, where, with which adapter."""
    from pathlib import Path

    from engine.model.registry import MODELS

    if not settings.model:
        return "No model chosen (Tools → Models)"
    model = MODELS[settings.model].title if settings.model in MODELS else Path(settings.model).name
    if settings.engine == "server":
        return f"{model} · on the server {settings.server_url or '(no address)'}"
    device = {"cpu": "CPU", "": "GPU" if gpu else "CPU"}.get(settings.device, "GPU")
    precision = settings.precision or "automatic precision"
    adapter = f"adapter {Path(settings.adapter).name}" if settings.adapter else "no adapter"
    return f"{model} · {precision} · {device} · {adapter}"


def show_engine_summary(controller) -> None:
    controller.window.engine_summary.setText(engine_summary(controller.settings, gpu_name()))
