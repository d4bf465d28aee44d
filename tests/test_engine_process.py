"""The engine process: crash isolation, cancel, bad requests, follow-up turns."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from app.engines.local import LocalEngine
from engine.events import Done, Error, TextDelta
from engine.requests import AskRequest, ModelChoice, TurnSpec
from tests import media


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    engine = LocalEngine(log_dir=str(tmp_path_factory.mktemp("logs")))
    yield engine
    engine.shutdown()


@pytest.fixture(scope="module")
def tone_file(tmp_path_factory) -> Path:
    return media.write_wav(tmp_path_factory.mktemp("audio") / "tone.wav", media.tone(seconds=2.0), 16000)


def ask(tiny_model: Path, audio: Path | None, question="What is it?", tokens=8, turns=()) -> AskRequest:
    choice = ModelChoice(str(tiny_model), models_dir="/nonexistent", device="cpu")
    last = TurnSpec(question, str(audio) if audio else None)
    return AskRequest((*turns, last), choice, max_new_tokens=tokens)


def answered(events) -> str:
    assert isinstance(events[-1], Done), events[-1]
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def answering(client: LocalEngine, request: AskRequest):
    """The request's event stream, once the first piece of the answer has arrived."""
    stream = client.ask(request)
    next(event for event in stream if isinstance(event, TextDelta))
    return stream


def test_kill_mid_answer_reports_an_error_and_the_next_question_is_answered(client, tiny_model, tone_file):
    stream = answering(client, ask(tiny_model, tone_file, tokens=20000))
    killed_pid = client.pid
    os.kill(killed_pid, signal.SIGKILL)
    rest = list(stream)
    assert len(rest) >= 1 and isinstance(rest[-1], Error)
    assert rest[-1].kind == "engine_crashed"
    assert "SIGKILL" in rest[-1].message

    events = list(client.ask(ask(tiny_model, tone_file)))
    assert answered(events)
    assert client.pid != killed_pid
    assert client.restarts >= 1


def test_cancel_ends_the_stream_and_the_engine_carries_on(client, tiny_model, tone_file):
    stream = answering(client, ask(tiny_model, tone_file, tokens=20000))
    pid = client.pid
    client.cancel()
    asked = time.monotonic()
    rest = list(stream)
    waited = time.monotonic() - asked
    assert isinstance(rest[-1], Done) and rest[-1].stats["finish"] == "cancelled"
    assert waited < 5, "cancel was not honoured"  # the 200 ms figure is measured by bench/cancel.py
    events = list(client.ask(ask(tiny_model, tone_file)))
    assert answered(events) and client.pid == pid


def test_bad_requests_leave_the_engine_healthy(client, tiny_model, tmp_path):
    pid_before = None
    for name, maker, reason in media.BAD_INPUTS:
        (tmp_path / name).mkdir()
        events = list(client.ask(ask(tiny_model, maker(tmp_path / name))))
        pid_before = pid_before or client.pid
        assert len([e for e in events if isinstance(e, Error)]) == 1, (name, events)
        assert isinstance(events[-1], Error) and events[-1].kind == "audio", (name, events[-1])
        assert reason.lower() in events[-1].message.lower(), (name, events[-1].message)
        assert "\n" not in events[-1].message
    for request, kind in [
        (ask(tiny_model, None, question="  "), "request"),
        (ask(tiny_model, None, tokens=0), "request"),
        (AskRequest((TurnSpec("q"),), ModelChoice("giant", "/nonexistent")), "model"),
        (AskRequest((TurnSpec("q"),), ModelChoice(str(tmp_path), "/nonexistent")), "model"),
    ]:
        events = list(client.ask(request))
        assert isinstance(events[-1], Error) and events[-1].kind == kind, events
    tone = media.write_wav(tmp_path / "ok.wav", media.tone(seconds=1.0), 16000)
    assert answered(list(client.ask(ask(tiny_model, tone))))
    assert client.pid == pid_before, "the same engine answered after all the bad requests"


def test_follow_up_turn_sees_the_earlier_audio_and_answer(client, tiny_model, tone_file):
    first = list(client.ask(ask(tiny_model, tone_file)))
    earlier = (TurnSpec("What is it?", str(tone_file), answered(first)),)
    second = list(client.ask(ask(tiny_model, None, question="And how long?", turns=earlier)))
    answered(second)
    assert second[-1].stats["prompt_tokens"] > first[-1].stats["prompt_tokens"]
    assert second[-1].stats["audio_s"] == pytest.approx(2.0, abs=0.01)


def test_load_request_reports_the_model(client, tiny_model):
    from engine.requests import LoadRequest

    events = list(client.load(LoadRequest(ModelChoice(str(tiny_model), "/nonexistent", "fp32", "cpu"))))
    assert isinstance(events[-1], Done)
    assert events[-1].stats["precision"] == "fp32" and events[-1].stats["device"] == "cpu"
