"""End to end on virtual sound devices with the tiny model: the way a person uses ``heron chat``.

A PulseAudio server with null sinks stands in for the sound card (tests.virtual_sound): questions
are played into the virtual microphone, and what Heron says is recorded from the virtual
speaker's monitor. The engine runs in its own process, as in the app.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.events import Done
from engine.requests import ModelChoice
from engine.speech.espeak import EspeakVoice
from engine.voice.events import BargeIn, SpeechStarted, Utterance
from engine.voice.loop import ChatOptions, VoiceLoop
from tests.media import speech
from tests.virtual_sound import (
    SpeakerRecorder,
    VirtualMic,
    echo_path,
    pulse_device,
    sound_server,  # noqa: F401  (fixture)
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("sound_server")]


@pytest.fixture(scope="module")
def engine():
    from app.engines.local import LocalEngine

    client = LocalEngine()
    yield client
    client.shutdown()


@pytest.fixture()
def devices():
    recorder, mic = SpeakerRecorder(), VirtualMic()
    yield recorder, mic
    recorder.close()
    mic.close()


class Session:
    """A running loop and everything it said, collected on a thread."""

    def __init__(self, engine, tiny_model, **options):
        device = pulse_device()
        chat = ChatOptions(
            model=ModelChoice(str(tiny_model), str(tiny_model.parent), "fp32", "cpu"), **options
        )
        self.loop = VoiceLoop.open(engine, EspeakVoice(), device, device, chat)
        self.events: list = []
        self._reader = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        for event in self.loop.events(poll_s=0.02):
            self.events.append(event)

    def __enter__(self) -> Session:
        self.loop.start()
        self._reader.start()
        assert self.loop.wait_ready(60), "the engine did not load the tiny model"
        return self

    def __exit__(self, *exc) -> None:
        self.loop.close()
        self._reader.join(5)

    def wait_for(self, kind: type, count: int = 1, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events if isinstance(e, kind)]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no {kind.__name__} within {timeout} s; got {[e.type for e in self.events]}")


def test_a_spoken_question_is_detected_answered_and_spoken(engine, tiny_model, devices):
    recorder, mic = devices
    with Session(engine, tiny_model, max_new_tokens=24) as session:
        _, question_end = mic.play(speech("What is the loudest sound in this recording?"))
        done = session.wait_for(Done)[0]
        session.loop.player.wait_idle(10)
        time.sleep(0.3)
    utterance = next(e for e in session.events if isinstance(e, Utterance))
    assert 2.0 < utterance.duration_s < 6.0
    assert done.stats["interrupted"] is False
    assert {"voice_end_detected_ms", "voice_first_audio_ms"} <= set(done.stats)
    reply_onset = recorder.onset_after(question_end)
    assert reply_onset is not None, "nothing was heard on the virtual speaker"
    assert reply_onset - question_end < 5.0  # generous: timings belong to the bench
    reply = recorder.audio()
    assert np.sqrt(np.mean(reply**2)) > 1e-3


def test_barge_in_stops_playback_and_cancels_generation(engine, tiny_model, devices):
    recorder, mic = devices
    with Session(engine, tiny_model, max_new_tokens=400) as session:
        _, question_end = mic.play(speech("Tell me a long story about this recording."))
        deadline = time.monotonic() + 30
        while recorder.onset_after(question_end) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(1.0)  # Heron is talking
        interruption = speech("Wait, please stop there.")
        heard, spoken_end = mic.play(interruption)
        session.wait_for(BargeIn)
        done = session.wait_for(Done)[0]
        time.sleep(0.5)
        session.loop.close()
    assert done.stats["interrupted"] is True and done.stats["finish"] == "interrupted"
    assert done.stats["generation"] in ("cancelled", "length", "stop")
    record = session.loop.turns[0]
    assert record.interrupted and record.spoken
    # The speaker went quiet soon after the interruption began and stayed quiet while it went on.
    times, samples = recorder._timeline()
    after = (times > heard + 0.8) & (times < spoken_end)
    assert after.any() and np.abs(samples[after]).max() < 0.01


@pytest.mark.parametrize("speaker_buffer_ms", [None, 300])
def test_echo_alone_starts_no_turn(engine, tiny_model, devices, speaker_buffer_ms, monkeypatch):
    """Also with a speaker that buffers 300 ms (a busy sound server does): the canceller loses
    the echo for a while, and only the double-talk test and the pause stand between Heron and
    answering itself."""
    if speaker_buffer_ms:
        monkeypatch.setenv("PULSE_LATENCY_MSEC", str(speaker_buffer_ms))  # read when a stream opens
    recorder, _ = devices
    raw_levels: list[float] = []
    with echo_path(latency_ms=30, volume=0.7), Session(engine, tiny_model) as session:
        process = session.loop.echo.process

        def watch(samples, captured_end):
            raw_levels.append(float(np.abs(samples).max()) if len(samples) else 0.0)
            return process(samples, captured_end)

        session.loop.echo.process = watch
        session.loop.say(
            "This is Heron speaking through the laptop speakers. It must never answer itself, "
            "even when it talks for a while about the dog, the door and the rain."
        )
        time.sleep(1.0)
        session.loop.player.wait_idle(20)
        time.sleep(1.0)
    assert max(raw_levels) > 0.05, "the echo did not reach the microphone: the test proves nothing"
    assert np.abs(recorder.audio()).max() > 0.05
    turns = [e for e in session.events if isinstance(e, (SpeechStarted, BargeIn, Utterance))]
    assert not turns, f"Heron heard its own echo as a turn: {turns}"
