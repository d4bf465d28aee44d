"""The desktop app, offscreen: open, ask, steps on the list and the waveform, click-to-seek, crash recovery."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox

from engine.events import Step
from engine.history import HistoryStore
from tests import media

STEPS = (
    Step(0, 1.0, 1.0, "A tone starts at [00:01].", 0, 25),
    Step(1, 2.0, 3.0, "Silence from 00:02 to 00:03.", 26, 54),
)
ANSWER = "Two tones, at [00:01] and 00:04."
ANSWER_STEP = Step(2, 4.0, 4.0, ANSWER, 0, len(ANSWER), "answer")


@pytest.fixture
def tones(tmp_path: Path) -> Path:
    return media.write_wav(tmp_path / "tones.wav", media.tone(seconds=6.0), 16000)


def finished(controller) -> bool:
    return not controller.bridge.busy and controller.turn_view is None


def test_open_ask_and_stream_into_chat_and_history(app, qtbot, tones):
    window, controller = app
    window.recording_chosen.emit(str(tones))
    qtbot.waitUntil(lambda: controller.recording == str(tones), timeout=20_000)
    assert window.waveform.duration == pytest.approx(6.0)
    window.input.text.setText("What do you hear?")
    qtbot.keyClick(window.input.text, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: finished(controller), timeout=60_000)
    turn = window.chat.current
    assert turn.answer_text, "the answer streamed into the chat"
    assert "tokens" in turn.status.text()
    (summary,) = controller.store.list_conversations()
    assert summary.turn_count == 1 and summary.recording_path == str(tones)
    assert window.conversations.ids() == [summary.id]


def store_conversation(tones: Path) -> int:
    from app import paths

    with HistoryStore(paths.history_path()) as store:
        conversation = store.create_conversation("Tones", "tiny")
        recording = store.add_recording(tones, 6.0)
        turn = store.begin_turn(conversation, "What do you hear?", recording)
        reasoning = " ".join(s.text for s in STEPS)
        store.finish_turn(
            turn, ANSWER, reasoning, [*STEPS, ANSWER_STEP], {"finish": "stop", "new_tokens": 20}
        )
    return conversation


def test_steps_reach_the_list_and_the_waveform_and_clicking_one_seeks(app, qtbot, tones):
    window, controller = app
    conversation = store_conversation(tones)
    controller.refresh_conversations()
    item = window.conversations.list.item(0)
    qtbot.mouseClick(window.conversations.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.conversations.list.visualItemRect(item).center())  # fmt: skip
    qtbot.waitUntil(lambda: controller.recording == str(tones), timeout=20_000)
    assert controller.conversation_id == conversation
    steps = window.chat.current.steps
    assert [s.start_s for s in steps.steps()] == [1.0, 2.0]
    assert {s.index for s in window.waveform.steps} == {0, 1, 2}

    moves: list[float] = []  # where each seek put playback (later ticks report it playing on)
    controller.player.position_changed.connect(moves.append)

    def seeks_to(target: float) -> bool:
        return abs(moves[0] - target) < 0.05 and controller.player.playing

    second = steps.item(1)
    qtbot.mouseClick(steps.viewport(), Qt.MouseButton.LeftButton, pos=steps.visualItemRect(second).center())
    assert seeks_to(2.0) and window.waveform.highlighted_step == 1
    start, end = window.waveform.visible_range()
    assert start <= 2.0 <= end

    controller.player.pause()
    moves.clear()
    steps.setCurrentRow(0)
    steps.setFocus()
    qtbot.keyClick(steps, Qt.Key.Key_Return)
    assert seeks_to(1.0)

    moves.clear()
    window.chat.current.answer.anchorClicked.emit(QUrl("t:4.0"))
    assert seeks_to(4.0)


def test_engine_crash_shows_a_banner_and_the_next_question_is_answered(app, qtbot, tones):
    window, controller = app
    controller.settings.max_new_tokens = 20000
    controller.ask("Tell me everything.")
    qtbot.waitUntil(lambda: bool(window.chat.current.answer_text), timeout=60_000)
    os.kill(controller.engine.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=20_000)
    assert "restarted" in window.banner.text.text() and "intact" in window.banner.text.text()
    assert window.chat.current.status.text().startswith("⚠")
    controller.settings.max_new_tokens = 8
    controller.ask("Again, please.")
    qtbot.waitUntil(lambda: finished(controller), timeout=60_000)
    assert len(window.chat.turns) == 2 and window.chat.current.answer_text


def test_settings_and_layout_persist_across_restarts(qtbot, tiny_model):
    from app.gui import build_window, save_layout
    from app.settings import Settings

    window, controller = build_window()
    qtbot.addWidget(window)
    window.show()
    controller.settings = Settings(model=str(tiny_model), think=True, silence_ms=900, precision="int8")
    window.resize(760, 560)  # the offscreen screen is 800×600: restoreGeometry keeps windows on it
    window.main_splitter.setSizes([210, 530])
    qtbot.wait(50)
    expected = window.main_splitter.sizes()
    save_layout(window, controller.qsettings)
    controller.shutdown()

    again, controller2 = build_window()
    qtbot.addWidget(again)
    again.show()
    assert controller2.settings == Settings(
        model=str(tiny_model), think=True, silence_ms=900, precision="int8"
    )
    qtbot.wait(50)
    assert again.size().width() == 760 and again.main_splitter.sizes() == expected
    controller2.shutdown()


def test_keyboard_paths(app, qtbot, tones):
    window, controller = app
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.input.text.hasFocus()
    for widget in (
        window.input.text,
        window.input.send,
        window.input.mic,
        window.input.stop,
        window.waveform,
    ):
        assert widget.accessibleName() and widget.toolTip()


def test_export_from_the_app(app, tones, tmp_path):
    window, controller = app
    conversation = store_conversation(tones)
    out = tmp_path / "tones.srt"
    controller.export_conversation(conversation, str(out), "srt")
    text = out.read_text()
    assert "00:00:01,000 --> " in text and "A tone starts" in text


def test_model_manager_downloads_from_a_folder_standing_in_for_the_hub(app, qtbot, tiny_model, heron_home):
    from engine.model.sources import FolderSource

    window, controller = app
    panel = controller.open_models()
    dialog = controller.models_dialog
    assert [r.name for r in dialog.rows()] == ["instruct", "think", "captioner", "piper", "kokoro", "espeak"]
    assert all("non-commercial" in r.licence for r in dialog.rows() if r.kind == "model")
    assert dialog.recommendation.text().startswith("Recommended: AF-Next Think")
    dialog.select("think")
    assert dialog.buttons["download"].isEnabled() and not dialog.buttons["use"].isEnabled()

    panel.download("think", source=FolderSource(tiny_model))
    qtbot.waitUntil(lambda: any(r.name == "think" and r.installed for r in dialog.rows()), timeout=20_000)
    assert "ready" in dialog.progress_label.text()
    installed = heron_home / "data" / "models" / "think"
    assert (installed / "model.safetensors").read_bytes() == (tiny_model / "model.safetensors").read_bytes()

    dialog.select("think")
    qtbot.mouseClick(dialog.buttons["use"], Qt.MouseButton.LeftButton)
    assert controller.settings.model == "think"
    assert next(r for r in dialog.rows() if r.name == "think").in_use


def test_a_cancelled_import_resumes(app, qtbot, tiny_model, heron_home):
    from engine.model.sources import FolderSource

    window, controller = app
    panel = controller.open_models()
    calls = []

    class SlowSource(FolderSource):
        def fetch(self, name, dest, on_bytes):
            calls.append(name)
            panel.cancel()  # the user presses Cancel during the first file
            super().fetch(name, dest, on_bytes)

    panel.download("captioner", source=SlowSource(tiny_model))
    panel.wait(20)
    qtbot.waitUntil(lambda: "cancelled" in controller.models_dialog.progress_label.text(), timeout=5_000)
    assert not any(r.installed for r in controller.models_dialog.rows() if r.name == "captioner")
    panel.download("captioner", source=FolderSource(tiny_model))
    qtbot.waitUntil(lambda: any(r.name == "captioner" and r.installed for r in controller.models_dialog.rows()),
                    timeout=20_000)  # fmt: skip


def test_settings_dialog_round_trips_and_persists(app, qtbot):
    from app.settings import Settings, open_settings

    window, controller = app
    dialog = controller.open_settings()
    values = dialog.values()
    assert values["model"] == controller.settings.model and values["silence_ms"] == 600
    values.update(
        precision="int8", silence_ms=1200, speaking_rate=1.3, theme="dark", vad_threshold=0.6
    )  # Think is beside the question box now (tests/test_input_bar.py)
    dialog.set_values(values)
    dialog.accept()
    assert controller.settings.silence_ms == 1200 and controller.settings.theme == "dark"
    reread = Settings.load(open_settings())
    assert (
        reread.precision,
        reread.silence_ms,
        reread.speaking_rate,
        reread.vad_threshold,
    ) == ("int8", 1200, 1.3, 0.6)
    for control in dialog.findChildren(QComboBox) + dialog.findChildren(QAbstractSpinBox):
        assert control.accessibleName() and control.toolTip(), control
