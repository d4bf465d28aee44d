"""The conversation loop with a scripted microphone, a fake speaker and a fake engine.

Real VAD, echo canceller, chunker, spoken form and espeak; only the sound devices and the model
are stand-ins, so turn-taking, barge-in, device loss and push-to-talk are tested exactly and fast.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.events import Done, Error, TextDelta
from engine.history.session import RECORDING_ACK
from engine.requests import ModelChoice
from engine.speech.espeak import EspeakVoice
from engine.voice.capture import DeviceLostError
from engine.voice.events import BargeIn, SpeechEnded, SpeechStarted, Utterance
from engine.voice.loop import ChatOptions, VoiceLoop
from engine.voice.vad import TurnDetector, VadOptions, load_vad_model
from tests.media import speech

RATE = 16000


class ScriptedMicrophone:
    """Hands out a prepared recording in 10 ms blocks, ``speed`` times faster than real time."""

    def __init__(self, audio: np.ndarray, speed: float = 1.0, lose_at_s: float | None = None):
        self.audio = audio.astype(np.float32)
        self.speed = speed
        self.lose_at = None if lose_at_s is None else round(lose_at_s * RATE)
        self.samples_read = 0
        self.latency_s = 0.0
        self._t0 = time.monotonic()

    def start(self) -> None:
        self._t0 = time.monotonic()

    def close(self) -> None:
        pass

    def wait_ready(self, timeout: float) -> bool:
        return True

    def time_of(self, position_s: float) -> float:
        return self._t0 + position_s / self.speed

    def read(self, timeout: float = 0.05) -> np.ndarray:
        due = round((time.monotonic() - self._t0) * self.speed * RATE)
        if self.lose_at is not None and due >= self.lose_at:
            raise DeviceLostError("The microphone 'fake' stopped working (unplugged?).")
        due = min(due, len(self.audio) + 10 * RATE)  # silence after the script
        if due <= self.samples_read:
            time.sleep(0.005)
            return np.zeros(0, np.float32)
        block = np.zeros(due - self.samples_read, np.float32)
        script = self.audio[self.samples_read : due]
        block[: len(script)] = script
        self.samples_read = due
        return block


class FakeSpeaker:
    """Plays in real time (scaled), remembers what it played, stops and pauses like the real one."""

    def __init__(self, speed: float = 1.0):
        self.speed = speed
        self.on_played = None
        self.on_segment = None
        self.played: list[tuple[np.ndarray, int]] = []
        self.stops = 0
        self.paused = False
        self._paused_at = 0.0
        self._until = 0.0
        self._lock = threading.Lock()
        self.latency_s = 0.0

    def start(self) -> None:
        pass

    def close(self) -> None:
        self.stop()

    rate = 22050  # espeak's: nothing to resample

    def prepare(self, samples: np.ndarray, rate: int) -> np.ndarray:
        assert rate == self.rate
        return samples

    def play(self, samples: np.ndarray, rate: int, tag: object = None) -> None:
        with self._lock:
            self.played.append((samples, rate))
            start = max(time.monotonic(), self._until)
            self._until = start + len(samples) / rate / self.speed
        if self.on_segment is not None:
            self.on_segment(tag, start)

    def stop(self) -> None:
        with self._lock:
            self.stops += 1
            self._until = min(self._until, time.monotonic())  # quiet from now on
            self.paused = False

    @property
    def silent_since(self) -> float:
        """When the last sample played (or will have): the loop waits out the echo after it."""
        return self._until

    def pause(self) -> None:
        self.paused = True
        self._paused_at = time.monotonic()

    def resume(self) -> None:
        self.paused = False

    @property
    def sound_until(self) -> float:
        """When the last sample played so far is heard: paused, the speaker went quiet then."""
        return self._paused_at if self.paused else min(self._until, time.monotonic())

    @property
    def busy(self) -> bool:
        return time.monotonic() < self._until

    def wait_idle(self, timeout: float | None = None) -> bool:
        end = time.monotonic() + (timeout or 0)
        while self.busy and time.monotonic() < end:
            time.sleep(0.005)
        return not self.busy


class FakeEngine:
    """Answers every question with ``answer``, one word every ``delay_s``; honours cancel."""

    def __init__(self, answer: str = "A dog barks twice. Then a car passes by.", delay_s: float = 0.01):
        self.answer = answer
        self.delay_s = delay_s
        self.requests = []
        self.cancels = 0
        self._cancel = threading.Event()

    def load(self, request):
        return iter(())

    def cancel(self) -> None:
        self.cancels += 1
        self._cancel.set()

    def ask(self, request):
        self.requests.append(request)
        self._cancel.clear()
        for word in self.answer.split(" "):
            if self._cancel.is_set():
                yield Done({"finish": "cancelled"})
                return
            time.sleep(self.delay_s)
            yield TextDelta(word + " ")
        yield Done({"finish": "stop", "new_tokens": len(self.answer.split())})


@pytest.fixture(scope="module")
def vad_model():
    return load_vad_model()


def make_loop(mic, speaker, engine, vad_model, **options) -> VoiceLoop:
    vad_model.reset_states()
    chat = ChatOptions(model=ModelChoice("tiny", "/nowhere"), preload=False, **options)
    return VoiceLoop(
        engine, EspeakVoice(), mic, speaker, chat, detector=TurnDetector(chat.vad, model=vad_model)
    )


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.float32)


def collect(loop: VoiceLoop, until, timeout: float = 20.0) -> list:
    """Events until ``until(events)`` is true (then the loop is closed and drained)."""
    events: list = []
    deadline = time.monotonic() + timeout
    stream = loop.events(poll_s=0.02)
    for event in stream:
        events.append(event)
        if until(events) or time.monotonic() > deadline:
            break
    loop.close()
    events.extend(stream)
    return events


def test_a_spoken_question_is_answered_aloud(vad_model):
    question = speech("What is the loudest sound in this recording?")
    mic = ScriptedMicrophone(np.concatenate([silence(0.5), question, silence(1.5)]), speed=2.0)
    speaker, engine = FakeSpeaker(speed=4.0), FakeEngine()
    loop = make_loop(mic, speaker, engine, vad_model)
    loop.start()
    events = collect(loop, lambda ev: any(isinstance(e, Done) for e in ev))
    kinds = [e.type for e in events]
    assert kinds.index("speech_started") < kinds.index("speech_ended") < kinds.index("utterance")
    assert kinds.index("utterance") < kinds.index("text") < kinds.index("done")
    done = next(e for e in events if isinstance(e, Done))
    assert done.stats["interrupted"] is False and done.stats["finish"] == "stop"
    for stage in (
        "voice_end_detected_ms",
        "voice_first_token_ms",
        "voice_first_sentence_ms",
        "voice_first_audio_ms",
        "voice_rtf",  # how fast the voice made its speech
        "voice_gap_ms_max",  # the longest the speaker ran dry mid-answer
    ):
        assert stage in done.stats
    assert 0 < done.stats["voice_rtf"] < 1
    assert len(speaker.played) == 2  # "A dog barks twice." and "Then a car passes by."
    asked = engine.requests[-1].turns[-1]
    assert asked.audio is not None and len(asked.audio) / RATE > len(question) / RATE * 0.8
    record = loop.turns[-1]
    assert record.answer.strip() == engine.answer and record.spoken == [
        "A dog barks twice.",
        "Then a car passes by.",
    ]


def test_talking_over_heron_stops_it_and_keeps_the_partial_answer(vad_model):
    question = speech("Tell me everything about this recording.")
    interruption = speech("Stop, that is enough, thank you.")
    script = np.concatenate([silence(0.5), question, silence(2.5), interruption, silence(1.5)])
    mic = ScriptedMicrophone(script)
    speaker = FakeSpeaker()
    long_answer = " ".join(f"Sentence number {i} is about the recording." for i in range(40))
    engine = FakeEngine(long_answer, delay_s=0.03)
    loop = make_loop(mic, speaker, engine, vad_model)
    loop.start()
    events = collect(
        loop, lambda ev: sum(isinstance(e, Done) for e in ev) >= 1 and any(isinstance(e, BargeIn) for e in ev)
    )
    barge = next(e for e in events if isinstance(e, BargeIn))
    interrupted_at = (len(silence(0.5)) + len(question) + len(silence(2.5))) / RATE
    assert interrupted_at <= barge.at_s + 0.1 < interrupted_at + 1.0
    done = next(e for e in events if isinstance(e, Done))
    assert done.stats["interrupted"] is True and done.stats["finish"] == "interrupted"
    assert engine.cancels >= 1 and speaker.stops >= 1
    record = loop.turns[0]
    assert record.interrupted and 0 < len(record.answer) < len(long_answer)
    assert record.spoken and all(piece in long_answer for piece in record.spoken)
    kinds = [e.type for e in events]
    assert kinds.index("barge_in") < kinds.index("done")


def test_a_microphone_that_vanishes_mid_turn_ends_it_with_a_clear_error_and_keeps_the_audio(vad_model):
    question = speech("What is the loudest sound in this recording?")
    mic = ScriptedMicrophone(
        np.concatenate([silence(0.5), question]), speed=2.0, lose_at_s=0.5 + len(question) / RATE / 2
    )
    engine = FakeEngine()
    loop = make_loop(mic, FakeSpeaker(), engine, vad_model)
    loop.start()
    events = collect(loop, lambda ev: any(isinstance(e, Error) for e in ev))
    error = next(e for e in events if isinstance(e, Error))
    assert error.kind == "device" and "stopped working" in error.message
    cut = next(e for e in events if isinstance(e, Utterance))
    assert cut.cut_short and len(cut.samples) / RATE > 0.5
    assert loop.turns[-1].audio is cut.samples and loop.turns[-1].error
    assert not engine.requests  # a cut question is not sent


def test_push_to_talk_turns_are_delimited_by_start_and_stop(vad_model):
    question = speech("Is there music?")
    mic = ScriptedMicrophone(np.concatenate([silence(0.4), question, silence(3.0)]), speed=1.0)
    engine, speaker = FakeEngine("Yes."), FakeSpeaker(speed=4.0)
    loop = make_loop(mic, speaker, engine, vad_model, push_to_talk=True)
    loop.start()
    time.sleep(0.3)
    loop.start_talking()
    time.sleep(0.2 + len(question) / RATE)
    loop.stop_talking()
    events = collect(loop, lambda ev: any(isinstance(e, Done) for e in ev))
    assert [e.type for e in events if isinstance(e, (SpeechStarted, SpeechEnded, Utterance))] == [
        "speech_started", "speech_ended", "utterance"]  # fmt: skip
    utterance = next(e for e in events if isinstance(e, Utterance))
    assert utterance.duration_s >= len(question) / RATE
    assert engine.requests and speaker.played


def test_follow_ups_carry_the_conversation_and_the_recording(vad_model, tmp_path):
    first, second = speech("What is this?"), speech("And then?")
    script = np.concatenate([silence(0.5), first, silence(2.0), second, silence(1.5)])
    mic = ScriptedMicrophone(script, speed=2.0)
    engine = FakeEngine("A bell.")
    loop = make_loop(mic, FakeSpeaker(speed=8.0), engine, vad_model, audio_path=str(tmp_path / "talk.wav"))
    loop.start()
    collect(loop, lambda ev: sum(isinstance(e, Done) for e in ev) >= 2)
    turns = engine.requests[-1].turns
    assert turns[0].audio_path.endswith("talk.wav") and turns[0].answer == RECORDING_ACK
    assert turns[1].audio is not None and turns[1].answer.strip() == "A bell."
    assert turns[-1].answer is None and turns[-1].audio is not None


def test_options_reach_the_detector():
    options = ChatOptions(model=ModelChoice("tiny", "/nowhere"), vad=VadOptions(silence_ms=900))
    assert options.vad.silence_ms == 900 and options.echo_cancel
