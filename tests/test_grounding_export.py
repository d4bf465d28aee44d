"""Exports of snapped steps: subtitles show the events where they really are, JSON keeps both times."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.events import Step
from engine.history import HistoryStore
from engine.history.export import cues, from_json, to_json, to_markdown, to_srt, to_webvtt
from tests import media

STEPS = (
    Step(0, 65.0, 65.0, "A door slams at [01:05].", 0, 24, snapped_start_s=65.72, snapped_end_s=65.9, confidence=0.8),
    Step(1, 70.0, 80.0, "Music from 01:10 to 01:20.", 25, 51, snapped_start_s=69.4, snapped_end_s=81.25, confidence=0.7),
    Step(2, 90.0, 90.0, "Silence at [01:30].", 52, 71, snapped_start_s=90.0, snapped_end_s=90.0, confidence=0.0),
    Step(3, 95.0, 95.0, "A bell at [01:35].", 72, 90),  # never snapped (snapping off)
)  # fmt: skip


@pytest.fixture
def record(tmp_path: Path):
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        conversation = store.create_conversation("Doors", "think")
        recording = store.add_recording(
            media.write_wav(tmp_path / "a.wav", media.tone(seconds=1.0), 16000), 120.0
        )
        turn = store.begin_turn(conversation, "What happens?", recording)
        store.finish_turn(turn, "A door, music, a bell.", "…", list(STEPS), {"finish": "stop"})
        yield store.get_conversation(conversation)


def test_subtitles_start_where_the_snapped_events_start(record):
    assert [(c.start_s, c.end_s) for c in cues(record)] == [
        (65.72, 67.72),  # a moment: from its event's onset, on screen long enough to read
        (69.4, 81.25),  # a range: the event's own extent
        (90.0, 92.0),  # nothing was found there: the cited time
        (95.0, 97.0),  # never snapped: the cited time
    ]
    assert "00:01:05.720 --> 00:01:07.720\nA door slams" in to_webvtt(record)
    assert "00:01:09,400 --> 00:01:21,250\nMusic from" in to_srt(record)


def test_json_keeps_the_cited_and_the_snapped_times(record):
    text = to_json(record)
    assert from_json(text) == record
    assert '"start_s": 65.0' in text and '"snapped_start_s": 65.72' in text and '"confidence": 0.8' in text


def test_markdown_shows_the_times_as_cited(record):
    assert "- [01:05] A door slams" in to_markdown(record)


def test_a_spoken_turns_steps_are_snapped_before_the_history_keeps_them(tmp_path: Path):
    from engine.events import Done, TextDelta
    from engine.grounding import ArrayAudio, StepSnapper
    from engine.history.session import ConversationSession
    from engine.voice.events import Utterance
    from tests.scenes import RATE, click, noise, put

    scene = put(noise(10.0, 0.01), 5.63, click())
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        session = ConversationSession(store, tmp_path / "spoken", "think")
        session.ground_step = StepSnapper(ArrayAudio(scene, RATE)).ground
        question = media.speech("What was that?")
        turn = session.on_voice_event(Utterance(len(question) / RATE, samples=question))
        for event in (
            Step(0, 5.0, 5.0, "A knock at [00:05]."),
            TextDelta("A knock."),
            Done({"finish": "stop"}),
        ):
            session.on_voice_event(event)
        (step,) = store.get_turn(turn.turn_id).steps
    assert step.start_s == 5.0 and step.snapped_start_s == pytest.approx(5.63, abs=0.03)
