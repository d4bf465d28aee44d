"""Audio too short to make one audio token is refused with the minimum, wherever it comes in; a
recording that ends a few milliseconds into a new 30 s window is still answered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.audio import MIN_AUDIO_S, SAMPLE_RATE, AudioError, decode_audio, probe_audio
from engine.events import Done, Error
from engine.requests import AskRequest, ModelChoice, TurnSpec
from engine.runtime.host import ModelHost
from engine.runtime.process import handle
from engine.runtime.protocol import Ask
from tests import media
from tests.cli import heron


def _tone(ms: float) -> np.ndarray:
    return media.tone(seconds=ms / 1000, rate=SAMPLE_RATE)


def _ask(tiny_model: Path, turn: TurnSpec) -> list:
    request = AskRequest((turn,), ModelChoice(str(tiny_model), "/nonexistent", "fp32", "cpu"), 2)
    return list(handle(ModelHost(), Ask(1, request), lambda: False))


@pytest.mark.parametrize("ms", [10, 20])
def test_a_short_file_is_refused_when_probed_and_when_decoded(tmp_path: Path, ms: int):
    path = media.write_wav(tmp_path / f"{ms}ms.wav", _tone(ms), SAMPLE_RATE)
    for read in (probe_audio, decode_audio):
        with pytest.raises(AudioError, match=rf"too short \({ms} ms; Heron needs at least 40 ms"):
            read(path)


def test_one_audio_token_is_enough(tmp_path: Path):
    path = media.write_wav(tmp_path / "40ms.wav", _tone(MIN_AUDIO_S * 1000), SAMPLE_RATE)
    assert probe_audio(path).duration_s == pytest.approx(MIN_AUDIO_S)
    assert len(decode_audio(path)) == round(MIN_AUDIO_S * SAMPLE_RATE)


def test_the_cli_says_too_short_on_one_line(tmp_path: Path, tiny_model: Path):
    path = media.write_wav(tmp_path / "click.wav", _tone(10), SAMPLE_RATE)
    result = heron("ask", str(path), "What is it?", "--model", str(tiny_model))
    assert result.status == 2
    assert result.stderr_lines == [
        "heron: Cannot open 'click.wav': it is too short (10 ms; Heron needs at least 40 ms of audio)."
    ]


def test_short_samples_sent_to_the_engine_get_the_same_refusal(tiny_model: Path):
    events = _ask(tiny_model, TurnSpec("", audio=_tone(10)))
    errors = [e for e in events if isinstance(e, Error)]
    assert len(errors) == 1 and errors[0].kind == "audio", events
    assert "too short (10 ms; Heron needs at least 40 ms" in errors[0].message


def test_a_recording_a_few_ms_past_one_window_is_answered(tiny_model: Path, tmp_path: Path):
    samples = media.tone(seconds=30.01, rate=SAMPLE_RATE)  # a 10 ms second window: no audio token
    path = media.write_wav(tmp_path / "thirty.wav", samples, SAMPLE_RATE)
    events = _ask(tiny_model, TurnSpec("What is it?", str(path)))
    assert not [e for e in events if isinstance(e, Error)], events
    assert isinstance(events[-1], Done)
