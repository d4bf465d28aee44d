"""The remote engine sends a long recording on disk window by window, reading only each window's span.

The server's replies are stood in for (``RemoteEngine._stream``): what is checked is what would go
up: every window within the server's limit, its samples those of that span of the file, and the
file never decoded whole on the client.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from app.engines import remote
from app.engines.remote import RemoteEngine
from engine.audio import decode_audio
from engine.events import Done
from engine.longform import planner
from engine.requests import AskRequest, ModelChoice, TurnSpec
from tests import media

RATE = 16000
WINDOW_S = 20.0


@dataclass(frozen=True)
class _Answer:
    answer_text: str
    finish: str = "stop"


@pytest.fixture
def long_file(tmp_path):
    sentence = media.speech("The committee met again to talk about the budget.")
    pause = np.zeros(RATE, np.float32)
    samples = np.resize(np.concatenate([sentence, pause]), 65 * RATE)
    return media.write_wav(tmp_path / "long.wav", samples, RATE)


def test_a_long_file_goes_up_a_window_at_a_time_never_decoded_whole(long_file, monkeypatch):
    engine = RemoteEngine("http://127.0.0.1:9")  # nothing listens: the replies are stood in for
    engine._served, engine._window_s = ["m"], {"m": WINDOW_S}
    clips: list[np.ndarray | None] = []
    body = engine._body

    def stream(request_body, audio_s, asked_at, steps=True):
        yield Done({"finish": "stop"})
        return _Answer("A part [00:01].")

    def sent(turns, model, request):  # what each request carries up
        clips.append(turns[0].audio)
        return body(turns, model, request)

    def whole_decode(path, **kwargs):
        raise AssertionError("the long file was decoded whole on the client")

    monkeypatch.setattr(engine, "_stream", stream)
    monkeypatch.setattr(remote, "decode_audio", whole_decode)
    monkeypatch.setattr(engine, "_body", sent)
    monkeypatch.setattr(
        planner, "speech_segments", lambda samples, rate: []
    )  # cuts at the limit; planner tests cover VAD
    request = AskRequest(
        (TurnSpec("What is discussed?", audio_path=str(long_file)),), ModelChoice("m", "/nonexistent"), 8
    )
    events = list(engine.ask(request))

    assert isinstance(events[-1], Done) and events[-1].stats["windows"] == 4, events[-3:]
    windows = [c for c in clips if c is not None]  # the combining pass sends no audio
    assert len(windows) == events[-1].stats["windows"]
    assert all(len(c) <= WINDOW_S * RATE for c in windows)
    whole = decode_audio(long_file)
    for clip, start_s in zip(windows, (0.0, 18.0, 36.0, 54.0), strict=True):  # 20 s windows, 2 s overlaps
        start = round(start_s * RATE)
        np.testing.assert_array_equal(clip, whole[start : start + len(clip)])
    assert round(54.0 * RATE) + len(windows[-1]) == len(whole)


def test_a_short_file_is_still_sent_whole(long_file, monkeypatch):
    engine = RemoteEngine("http://127.0.0.1:9")
    engine._served, engine._window_s = ["m"], {"m": 120.0}
    bodies = []

    def stream(body, audio_s, asked_at, steps=True):
        bodies.append((body, audio_s))
        yield Done({"finish": "stop"})
        return _Answer("")

    monkeypatch.setattr(engine, "_stream", stream)
    list(
        engine.ask(
            AskRequest((TurnSpec("What?", audio_path=str(long_file)),), ModelChoice("m", "/nonexistent"), 8)
        )
    )
    assert len(bodies) == 1 and bodies[0][1] == pytest.approx(65.0, abs=0.01)
