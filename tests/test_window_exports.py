"""Export from the window: a name from the title, the format's extension, no empty subtitles,
and times that read as the window reads them (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from engine.events import Step
from engine.history import HistoryStore
from tests import media


def stored(tmp_path: Path, steps=(), seconds: float = 2.0) -> tuple[int, Path]:
    from app import paths

    recording = media.write_wav(tmp_path / "talk.wav", media.tone(seconds=seconds), 16000)
    with HistoryStore(paths.history_path()) as store:
        conversation = store.create_conversation("What is said: at the start?", "tiny")
        turn = store.begin_turn(
            conversation, "What is said at the start?", store.add_recording(recording, seconds)
        )
        store.finish_turn(turn, "Someone greets.", "", list(steps), {"finish": "stop"})
    return conversation, recording


def test_the_save_dialog_suggests_the_title_and_a_bare_name_gets_the_formats_extension(
    app, tmp_path, monkeypatch
):
    window, controller = app
    conversation, _ = stored(tmp_path)
    asked = {}

    def save_dialog(parent, caption, start, filters):
        asked["start"] = start
        return str(tmp_path / "notes"), "JSON (*.json)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
    written = controller.export_conversation(conversation)
    assert Path(asked["start"]).name == "What is said at the start.md"
    assert written == str(tmp_path / "notes.json")
    assert '"heron-conversation"' in Path(written).read_text()


def test_subtitles_of_a_conversation_without_timed_steps_say_so_instead_of_an_empty_file(app, tmp_path):
    window, controller = app
    conversation, _ = stored(tmp_path)
    out = tmp_path / "talk.srt"
    assert controller.export_conversation(conversation, str(out), "srt") is None
    assert not out.exists()
    assert window.banner.isVisible() and "Markdown or JSON" in window.banner.text.text()


def test_exported_times_read_as_the_window_shows_them(app, qtbot, tmp_path):
    window, controller = app
    step = Step(0, 32.6, 32.6, "A word at 00:32.6.", 0, 18)
    conversation, recording = stored(tmp_path, [step], seconds=32.6)
    controller.open_conversation(conversation)
    qtbot.waitUntil(lambda: controller.recording == str(recording), timeout=20_000)
    assert window.recording_label.text().endswith("00:33")
    out = tmp_path / "talk.md"
    controller.export_conversation(conversation, str(out), "md")
    text = out.read_text()
    assert "[00:33]" in text and "(00:33)" in text, text


@pytest.mark.parametrize(
    ("typed", "written"), [("a", "a.md"), ("a.md", "a.md"), ("Meeting 3.1", "Meeting 3.1.md")]
)
def test_with_extension(typed, written):
    from app.exporting import with_extension

    assert with_extension(typed, "md") == written
