"""The window: steps snapped to their events in the list, on the waveform and in the answer; a
click plays from just before the event; a setting turns it off."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl

from engine.events import Step
from engine.grounding import PRE_ROLL_S
from engine.history import HistoryStore
from tests import media
from tests.scenes import RATE, click, noise, put, spoken, tone

KNOCK_S, TONE_S, TONE_END_S, SPEECH_S = 1.43, 3.31, 5.2, 7.4
ANSWER = 'He says "hello" at [00:07].'
STEPS = (
    Step(0, 1.0, 1.0, "A knock at [00:01].", 0, 19),
    Step(1, 3.0, 5.0, "A tone from 00:03 to 00:05.", 20, 47),
    Step(2, 7.0, 7.0, ANSWER, 0, len(ANSWER), "answer"),
)


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    samples = put(noise(10.0, 0.003), KNOCK_S, click())
    samples = put(put(samples, TONE_S, tone(TONE_END_S - TONE_S, 440.0)), SPEECH_S, spoken("Hello there."))
    return media.write_wav(tmp_path / "scene.wav", samples, RATE)


def open_stored(window, controller, qtbot, scene: Path) -> None:
    from app import paths

    with HistoryStore(paths.history_path()) as store:
        conversation = store.create_conversation("Scene", "tiny")
        turn = store.begin_turn(conversation, "What happens?", store.add_recording(scene, 10.0))
        store.finish_turn(turn, ANSWER, " ".join(s.text for s in STEPS[:2]), list(STEPS), {"finish": "stop"})
    controller.open_conversation(conversation)
    qtbot.waitUntil(lambda: controller.recording == str(scene), timeout=20_000)
    qtbot.waitUntil(lambda: window.chat.current.steps.steps()[0].snapped, timeout=20_000)


def seeks(controller, action) -> float:
    """Where ``action`` made playback start (the first position the player reported)."""
    moves: list[float] = []
    controller.player.position_changed.connect(moves.append)
    action()
    controller.player.position_changed.disconnect(moves.append)
    assert controller.player.playing
    controller.player.pause()
    return moves[0]


def test_a_click_on_a_step_plays_from_just_before_its_event(app, qtbot, scene):
    window, controller = app
    open_stored(window, controller, qtbot, scene)
    steps = window.chat.current.steps
    knock, ranged = steps.steps()
    assert knock.snapped_start_s == pytest.approx(KNOCK_S, abs=0.03) and knock.start_s == 1.0
    assert ranged.snapped_start_s == pytest.approx(TONE_S, abs=0.03)
    assert ranged.snapped_end_s == pytest.approx(TONE_END_S, abs=0.15)

    first = steps.item(0)
    played = seeks(controller, lambda: qtbot.mouseClick(
        steps.viewport(), Qt.MouseButton.LeftButton, pos=steps.visualItemRect(first).center()))  # fmt: skip
    assert played == pytest.approx(knock.snapped_start_s - PRE_ROLL_S, abs=0.002)
    assert window.waveform.highlighted_step == 0
    assert "cited 00:01 · event starts 00:01.4" in first.toolTip()

    steps.setCurrentRow(1)
    steps.setFocus()
    played = seeks(controller, lambda: qtbot.keyClick(steps, Qt.Key.Key_Return))
    assert played == pytest.approx(ranged.snapped_start_s - PRE_ROLL_S, abs=0.002)

    answer = window.chat.current.answer
    played = seeks(controller, lambda: answer.anchorClicked.emit(QUrl("step:2")))
    assert played == pytest.approx(SPEECH_S - PRE_ROLL_S, abs=0.07)
    assert "event starts 00:07.4" in answer.toHtml()

    played = seeks(controller, lambda: window.waveform.step_clicked.emit(0))
    assert played == pytest.approx(knock.snapped_start_s - PRE_ROLL_S, abs=0.002)


def test_the_waveform_shows_the_event_with_a_tick_at_the_cited_time(app, qtbot, scene):
    from ui.waveform.markers import layout_marks

    window, controller = app
    open_stored(window, controller, qtbot, scene)
    view = window.waveform
    marks = {m.index: m for m in layout_marks(view.steps, view._view, 0, 10, lambda text: 8.0)}
    knock = next(s for s in view.steps if s.index == 0)
    assert marks[0].x0 == pytest.approx(view.x_of(knock.snapped_start_s))
    assert marks[0].raw_x == pytest.approx(view.x_of(1.0))
    assert marks[1].x1 == pytest.approx(view.x_of(next(s for s in view.steps if s.index == 1).snapped_end_s))
    assert "cited 00:01 · event starts 00:01.4" in view._step_tooltip(0)


def test_snapping_off_plays_from_the_cited_time(app, qtbot, scene):
    window, controller = app
    open_stored(window, controller, qtbot, scene)
    controller.apply_settings({"snap_to_events": False})
    steps = window.chat.current.steps
    assert not any(s.snapped for s in [*steps.steps(), *window.waveform.steps])
    assert seeks(controller, lambda: controller.activate_step(steps.steps()[0])) == pytest.approx(1.0)
    assert seeks(controller, lambda: window.chat.current.answer.anchorClicked.emit(QUrl("step:2"))) == 7.0
    controller.apply_settings({"snap_to_events": True})
    assert steps.steps()[0].snapped


def test_a_streamed_step_is_snapped_as_it_arrives(app, qtbot, scene):
    window, controller = app
    controller.open_recording(str(scene))
    qtbot.waitUntil(lambda: controller.recording == str(scene), timeout=20_000)
    controller.turns.follow(
        controller.session.begin_typed("What happens?"), window.chat.add_turn("What happens?")
    )
    controller.on_event(STEPS[0])
    (step,) = window.chat.current.steps.steps()
    assert step.snapped_start_s == pytest.approx(KNOCK_S, abs=0.03)
    assert [s.index for s in window.waveform.steps] == [0] and window.waveform.steps[0].snapped
