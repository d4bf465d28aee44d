"""Voice in the desktop app, through the real window on virtual sound devices with the tiny model.

A PulseAudio server with null sinks stands in for the sound card (tests.virtual_sound): questions
are played into the virtual microphone and what Heron says is recorded from the speaker's
monitor. The window's one engine process answers both typed and spoken questions.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.paths import spoken_dir
from engine.history.session import spoken_file
from tests.media import speech
from tests.virtual_sound import SpeakerRecorder, VirtualMic, sound_server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("sound_server")]


@pytest.fixture
def app(qtbot, tiny_model: Path):
    from app.gui import build_window

    window, controller = build_window()
    qtbot.addWidget(window)
    controller.settings.model = str(tiny_model)
    controller.settings.precision, controller.settings.device = "fp32", "cpu"
    controller.settings.max_new_tokens = 12
    controller.voice.apply_settings()
    window.show()
    qtbot.waitUntil(window.input.mic.isEnabled, timeout=10_000)
    yield window, controller
    controller.shutdown()


@pytest.fixture
def sound():
    recorder, mic = SpeakerRecorder(), VirtualMic()
    yield recorder, mic
    recorder.close()
    mic.close()


def listening(controller) -> bool:
    loop = controller.voice.bridge.loop
    return loop is not None and loop.capture.wait_ready(0)


def answered(controller, turns: int = 1) -> bool:
    window = controller.window
    return len(window.chat.turns) >= turns and not controller.voice.open_turns


def play_soon(mic: VirtualMic, samples: np.ndarray) -> dict:
    """Play into the microphone from a thread (the GUI thread keeps serving events meanwhile)."""
    heard: dict = {}

    def play() -> None:
        heard["start"], heard["end"] = mic.play(samples)

    threading.Thread(target=play, daemon=True).start()
    return heard


def stored_turn(controller):
    (summary,) = controller.store.list_conversations()
    (turn,) = controller.store.get_conversation(summary.id).turns
    return turn


def test_a_spoken_question_is_shown_answered_spoken_and_kept(app, qtbot, sound):
    window, controller = app
    recorder, mic = sound
    window.input.hands_free.click()
    qtbot.waitUntil(lambda: listening(controller), timeout=15_000)
    assert window.input.voice_state.text() == "Listening"
    heard = play_soon(mic, speech("What is the loudest sound in this recording?"))
    qtbot.waitUntil(lambda: answered(controller), timeout=60_000)
    turn = window.chat.current
    assert turn.question.text().startswith("Spoken question (")
    assert turn.answer_text and "tokens" in turn.status.text()
    qtbot.waitUntil(lambda: controller.voice.bridge.loop.idle, timeout=20_000)
    assert recorder.onset_after(heard["end"]) is not None, "nothing was heard on the virtual speaker"
    stored = stored_turn(controller)
    assert stored.question == turn.question.text().removeprefix("<b>You:</b> ")
    assert stored.state.value == "done" and stored.answer == turn.answer_text
    assert spoken_file(spoken_dir(), stored.id).is_file() and turn.replay.isEnabled()
    assert controller.session.turns[-1].audio is not None  # follow-ups hear it


def test_push_to_talk_records_while_held(app, qtbot, sound):
    window, controller = app
    _, mic = sound
    qtbot.mousePress(window.input.mic, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: listening(controller), timeout=15_000)
    assert window.input.voice_state.text() == "Recording…"
    heard = play_soon(mic, speech("Is there any music?"))
    qtbot.waitUntil(lambda: "end" in heard, timeout=20_000)
    qtbot.mouseRelease(window.input.mic, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: answered(controller), timeout=60_000)
    assert window.chat.current.question.text().startswith("Spoken question (")
    assert window.chat.current.answer_text
    assert stored_turn(controller).state.value == "done"
    assert not controller.voice.bridge.loop.hands_free  # holding the key never turned listening on


def test_talking_over_heron_stops_it_and_marks_the_turn_interrupted(app, qtbot, sound):
    window, controller = app
    recorder, mic = sound
    controller.settings.max_new_tokens = 400
    controller.voice.apply_settings()
    window.input.hands_free.click()
    qtbot.waitUntil(lambda: listening(controller), timeout=15_000)
    heard = play_soon(mic, speech("Tell me a long story about this recording."))
    qtbot.waitUntil(lambda: "end" in heard and recorder.onset_after(heard["end"]) is not None, timeout=60_000)
    qtbot.wait(800)  # Heron is talking
    play_soon(mic, speech("Wait, please stop there."))
    qtbot.waitUntil(lambda: bool(window.chat.turns) and "Interrupted" in window.chat.turns[0].status.text(),
                    timeout=20_000)  # fmt: skip
    first = window.chat.turns[0]
    record = controller.store.get_conversation(controller.conversation_id).turns[0]
    qtbot.waitUntil(lambda: controller.store.get_turn(record.id).state.value == "interrupted", timeout=10_000)
    assert controller.store.get_turn(record.id).answer == first.answer_text


def test_a_missing_device_and_voice_give_notices_and_fall_back(app, qtbot, sound):
    window, controller = app
    notices: list[str] = []
    controller.voice.bridge.notice.connect(notices.append)
    controller.settings.input_device = "Studio microphone that is not plugged in"
    controller.settings.voice = "kokoro"  # not downloaded in this isolated home
    controller.voice.apply_settings()
    window.input.hands_free.click()
    qtbot.waitUntil(lambda: listening(controller), timeout=15_000)
    assert any("not plugged in" in n and "instead" in n for n in notices), notices
    assert any("heron models download kokoro" in n and "Piper instead" in n for n in notices), notices
    assert window.banner.isVisible()
    assert controller.voice.bridge.loop.voice.name == "piper"  # the next voice in Heron's order


def test_closing_the_voice_while_it_opens_leaves_no_loop_listening(app, qtbot):
    """A close (or the app's shutdown) that comes while the microphone is still being opened wins:
    the loop built meanwhile is closed, never left serving a bridge that is gone."""
    _, controller = app
    bridge = controller.voice.bridge
    bridge.set_hands_free(True)  # opens the loop in the bridge's worker thread
    bridge.close()  # before that loop exists
    assert not bridge.wait_open(5.0)
    assert bridge.loop is None
