"""``heron ask`` end to end on the tiny model: every audio format streams an answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import media
from tests.cli import heron

QUESTION = "What do you hear?"


def _assert_streamed_answer(result) -> None:
    assert result.status == 0, result.stderr
    types = [e["type"] for e in result.events]
    assert types[-1] == "done"
    assert types.count("text") >= 2, types
    assert "error" not in types
    stats = result.events[-1]["stats"]
    assert stats["new_tokens"] >= 2 and stats["prompt_tokens"] > 0
    assert stats["ttft_s"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name, maker", media.ALL_FORMATS, ids=[n for n, _ in media.ALL_FORMATS])
def test_every_format_streams_an_answer(name, maker, tiny_model: Path, tmp_path: Path):
    audio = maker(tmp_path)
    result = heron("ask", str(audio), QUESTION, "--model", str(tiny_model), "--json", "--max-new-tokens", "8")
    _assert_streamed_answer(result)
    assert result.events[-1]["stats"]["audio_s"] > 0.5


def test_plain_output_is_the_answer_text(tiny_model: Path, tmp_path: Path):
    audio = media.write_wav(tmp_path / "speech.wav", media.speech("Hello there."), 16000)
    result = heron("ask", str(audio), QUESTION, "--model", str(tiny_model), "--max-new-tokens", "12")
    assert result.status == 0, result.stderr
    assert result.stdout.strip(), "the answer was printed"
    assert set(result.stderr_lines) <= {"(cut at --max-new-tokens; raise it for a longer answer)"}


def test_json_progress_precedes_the_answer(tiny_model: Path, tmp_path: Path):
    audio = media.write_wav(tmp_path / "tone.wav", media.tone(seconds=2.0), 16000)
    result = heron("ask", str(audio), QUESTION, "--model", str(tiny_model), "--json", "--max-new-tokens", "6")
    _assert_streamed_answer(result)
    stages = [e["stage"] for e in result.events if e["type"] == "progress"]
    assert "decode_audio" in stages and "load_model" in stages
    first_text = next(i for i, e in enumerate(result.events) if e["type"] == "text")
    last_progress = max(i for i, e in enumerate(result.events) if e["type"] == "progress")
    assert last_progress < first_text


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["nf4", "int8", "bf16"])
def test_quantized_precisions_answer_through_the_cli(precision, tiny_model: Path, tmp_path: Path):
    audio = media.write_wav(tmp_path / "tone.wav", media.tone(seconds=1.0), 16000)
    result = heron(
        "ask", str(audio), QUESTION, "--model", str(tiny_model), "--json",
        "--precision", precision, "--device", "cpu", "--max-new-tokens", "6",
    )  # fmt: skip
    _assert_streamed_answer(result)
