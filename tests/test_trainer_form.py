"""The trainer window's form, offscreen (no training): Enter in the dataset box checks the file
instead of opening a picker, the length reads as epochs or steps, no hash is shown to the user,
and the end says the length as asked ("3 epochs (1 step)")."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QFileDialog

from bench.beeps import write_dataset


@pytest.fixture(scope="module")
def beeps(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("form-beeps"), clips=4, seed=2, seconds=(1.0, 1.5))


def test_enter_in_the_dataset_box_checks_the_file_and_opens_no_picker(app, qtbot, beeps, monkeypatch):
    window, controller = app
    pickers = []
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: pickers.append(a) or ("", ""))
    )
    trainer = controller.open_trainer()
    box = trainer.window.dataset
    box.setFocus()
    box.setText(str(beeps))
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert pickers == [], "Enter opened the file picker"
    qtbot.waitUntil(lambda: trainer.window.start.isEnabled(), timeout=20_000)
    text = trainer.window.validation.toPlainText()
    assert "examples: 4" in text and "sha256" not in text.lower(), text


def test_the_length_reads_as_epochs_or_steps(app):
    window, controller = app
    form = controller.open_trainer().window
    form.set_settings({"epochs": 3.0, "max_steps": 0})
    assert form.epochs.text() == "3" and form.length_unit.currentText() == "epochs"
    assert form.epochs.isVisibleTo(form) and not form.max_steps.isVisibleTo(form)
    assert form.settings()["max_steps"] == 0
    form.set_settings({"max_steps": 60})
    assert form.length_unit.currentText() == "steps" and form.max_steps.isVisibleTo(form)
    assert form.settings()["max_steps"] == 60
    form.length_unit.setCurrentIndex(0)
    assert form.settings()["max_steps"] == 0 and form.settings()["epochs"] == 3.0
    for box in form.findChildren(QAbstractSpinBox):
        assert "from epochs" not in box.specialValueText()
        assert box.accessibleName() and box.toolTip(), box


def test_the_end_says_the_length_as_asked(app):
    window, controller = app
    trainer = controller.open_trainer()
    stats = {
        "finish": "stop",
        "steps": 1,
        "epochs": 3.0,
        "train_loss": 0.51,
        "eval_loss": None,
        "adapter": "/a",
    }
    trainer._finished(stats)
    status = trainer.window.status.text()
    assert status.startswith("Done: 3 epochs (1 step),"), status
    trainer._finished({**stats, "steps": 12, "epochs": 1.0})
    assert trainer.window.status.text().startswith("Done: 1 epoch (12 steps),")
