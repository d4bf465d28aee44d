"""Turn detection with silero-vad on synthetic speech: pre-roll, the silence that ends a turn, blips."""

from __future__ import annotations

import numpy as np
import pytest

from engine.voice.vad import TurnDetector, VadOptions, load_vad_model
from tests.media import speech

RATE = 16000
QUESTION = "What is the loudest sound in this recording?"


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.float32)


def loud_span(audio: np.ndarray) -> tuple[float, float]:
    loud = np.nonzero(np.abs(audio) > 0.01)[0]
    return loud[0] / RATE, loud[-1] / RATE


@pytest.fixture(scope="module")
def model():
    return load_vad_model()


def run(detector: TurnDetector, audio: np.ndarray, block: int = 441) -> list:
    events = []
    for start in range(0, len(audio), block):  # 441: a 10 ms block of a 44.1 kHz device, resampled
        events += detector.feed(audio[start : start + block])
    return events


def fresh(model, **options) -> TurnDetector:
    model.reset_states()
    return TurnDetector(VadOptions(**options), model=model)


def test_a_spoken_question_is_one_turn_with_pre_roll(model):
    question = speech(QUESTION)
    audio = np.concatenate([silence(1.0), question, silence(1.5)])
    events = run(fresh(model), audio)
    kinds = [e.kind for e in events]
    assert kinds == ["onset", "started", "pause", "ended"]
    ended = events[-1]
    speech_start, speech_end = loud_span(question)
    # The turn's audio starts at least 300 ms before the first detected chunk and keeps the speech whole.
    onset = events[0].at_s - 0.032
    turn_start = ended.at_s - len(ended.audio) / RATE - (ended.at_s - ended.last_voice_s - 0.16)
    assert onset - turn_start >= 0.3 - 1e-6
    assert len(ended.audio) / RATE >= (speech_end - speech_start) + 0.3
    # Pre-roll begins before the speech did.
    assert turn_start <= 1.0 + speech_start


def test_the_silence_window_ends_the_turn(model):
    question = speech(QUESTION)
    audio = np.concatenate([silence(0.5), question, silence(2.0)])
    end_of_speech = 0.5 + loud_span(question)[1]
    for silence_ms in (600, 1000):
        ended = [e for e in run(fresh(model, silence_ms=silence_ms), audio) if e.kind == "ended"][0]
        waited = ended.at_s - end_of_speech
        assert silence_ms / 1000 <= waited + 0.01 <= silence_ms / 1000 + 0.1, waited
        assert abs(ended.last_voice_s - end_of_speech) < 0.05  # the end is found where the voice stopped


def test_a_pause_shorter_than_the_window_does_not_end_the_turn(model):
    first, second = speech("Tell me about the birds."), speech("And the dogs.")
    first = first[: round(loud_span(first)[1] * RATE)]
    second = second[round(loud_span(second)[0] * RATE) :]
    audio = np.concatenate([silence(0.5), first, silence(0.4), second, silence(1.5)])  # a 400 ms pause
    events = run(fresh(model), audio)
    assert [e.kind for e in events].count("ended") == 1
    assert "resumed" in [e.kind for e in events]  # the early offer ("pause") was taken back
    ended = events[-1]
    assert len(ended.audio) / RATE > (len(first) + len(second)) / RATE


def test_blips_shorter_than_the_minimum_are_ignored(model):
    question = speech(QUESTION)
    start = np.nonzero(np.abs(question) > 0.05)[0][0] + 1600
    blip = question[start : start + round(0.12 * RATE)]  # 120 ms of voice: a cough, a "hm"
    click = np.zeros(160, np.float32)
    click[:8] = 0.9
    audio = np.concatenate([silence(0.5), blip, silence(1.0), click, silence(1.0)])
    kinds = [e.kind for e in run(fresh(model), audio)]
    assert "started" not in kinds and "ended" not in kinds


def test_the_offer_carries_the_same_audio_as_the_end(model):
    audio = np.concatenate([silence(0.5), speech(QUESTION), silence(1.5)])
    events = run(fresh(model), audio)
    pause = next(e for e in events if e.kind == "pause")
    ended = next(e for e in events if e.kind == "ended")
    assert np.array_equal(pause.audio, ended.audio)
    assert pause.at_s < ended.at_s


def test_end_now_keeps_what_was_said(model):
    question = speech(QUESTION)
    detector = fresh(model)
    run(detector, np.concatenate([silence(0.5), question[: len(question) // 2]]))
    cut = detector.end_now()
    assert cut is not None and cut.kind == "ended"
    assert len(cut.audio) / RATE > 0.5
    assert detector.end_now() is None
