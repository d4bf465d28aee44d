"""First run on the real window: the Models window points at the recommended model, the folder
picker names the model, an imported model is the one in use, a question asked before any model
existed is kept and asked once one is ready, and the status bar says what answers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.welcome import NO_MODEL


def test_the_models_window_opens_on_the_recommended_row_highlighted(app):
    window, controller = app
    controller.open_models()
    dialog = controller.models_dialog
    recommended = [r for r in dialog.rows() if r.recommended]
    assert [r.name for r in recommended] == ["think"]
    assert dialog.selected() == "think", "a row is selected from the start"
    row = [r.name for r in dialog.rows()].index("think")
    assert "recommended" in dialog.table.item(row, 3).text() and dialog.table.item(row, 0).font().bold()


def test_an_imported_model_is_the_one_in_use(app, qtbot, tiny_model: Path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window, controller = app
    titles = []

    def pick(parent, title, *args, **kwargs):
        titles.append(title)
        return str(tiny_model)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(pick))
    controller.open_models()
    dialog = controller.models_dialog
    dialog.select("instruct")
    qtbot.mouseClick(dialog.buttons["import"], Qt.MouseButton.LeftButton)
    assert titles == ["Choose the folder that holds AF-Next Instruct"]
    qtbot.waitUntil(lambda: controller.settings.model == "instruct", timeout=30_000)
    assert next(r for r in dialog.rows() if r.name == "instruct").in_use
    assert window.engine_summary.text().startswith("AF-Next Instruct · ")


def test_a_question_before_any_model_is_kept_and_asked_once_one_is_ready(app, qtbot, tiny_model: Path):
    window, controller = app
    controller.settings.model = ""
    window.input.text.setText("What is in the recording?")
    qtbot.keyClick(window.input.text, Qt.Key.Key_Return)
    assert window.banner.isVisible() and window.banner.text.text() == NO_MODEL
    assert not window.chat.turns
    asked = []
    controller.bridge.ask = asked.append  # what the engine is asked is enough here: no need to run it
    controller.use_model(str(tiny_model))
    assert not window.banner.isVisible(), "the notice goes once a model is chosen"
    assert [t.question for t in controller.store.get_conversation(controller.conversation_id).turns] == [
        "What is in the recording?"
    ]
    assert len(asked) == 1 and asked[0].model.model == str(tiny_model)
    assert [t.question.text() for t in window.chat.turns] == ["What is in the recording?"]


def test_the_status_bar_says_model_precision_device_and_adapter(app, tmp_path):
    window, controller = app
    controller.apply_settings({"model": "think", "precision": "nf4", "device": "cpu"})
    assert window.engine_summary.text() == "AF-Next Think · nf4 · CPU · no adapter"
    adapter = tmp_path / "beeps-adapter"
    adapter.mkdir()
    controller.use_adapter(str(adapter))
    assert window.engine_summary.text().endswith("· adapter beeps-adapter")
    assert window.engine_summary.accessibleName()
