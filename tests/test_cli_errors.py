"""Bad input: one line on stderr, exit status 2, no traceback — for every kind we know of."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import media
from tests.cli import WITHOUT_ROOT_READ, heron

QUESTION = "What is this?"


def _assert_one_line_failure(result, *expected: str) -> None:
    assert result.status == 2, (result.status, result.stdout, result.stderr)
    lines = result.stderr_lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("heron: ")
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text.lower() in lines[0].lower(), lines[0]


@pytest.mark.parametrize("name, maker, reason", media.BAD_INPUTS, ids=[n for n, *_ in media.BAD_INPUTS])
def test_bad_audio(name, maker, reason, tiny_model: Path, tmp_path: Path):
    audio = maker(tmp_path)
    result = heron("ask", str(audio), QUESTION, "--model", str(tiny_model), "--json")
    _assert_one_line_failure(result, audio.name, reason)


def test_unreadable_file(tmp_path: Path, tiny_model: Path):
    audio = media.make_unreadable(tmp_path)
    result = heron("ask", str(audio), QUESTION, "--model", str(tiny_model), prefix=WITHOUT_ROOT_READ)
    _assert_one_line_failure(result, audio.name, "permission")


def _tone(tmp_path: Path) -> Path:
    return media.write_wav(tmp_path / "tone.wav", media.tone(seconds=1.0), 16000)


def test_unknown_model_name(tmp_path: Path):
    result = heron("ask", str(_tone(tmp_path)), QUESTION, "--model", "giant")
    _assert_one_line_failure(result, "unknown model", "instruct")


def test_model_not_downloaded(tmp_path: Path):
    result = heron("ask", str(_tone(tmp_path)), QUESTION, "--model", "think")
    _assert_one_line_failure(result, "not downloaded", "heron models download think")


def test_model_folder_without_weights(tmp_path: Path, tiny_model: Path):
    folder = tmp_path / "no-weights"
    folder.mkdir()
    for item in tiny_model.iterdir():
        if item.suffix != ".safetensors":
            (folder / item.name).write_bytes(item.read_bytes())
    result = heron("ask", str(_tone(tmp_path)), QUESTION, "--model", str(folder))
    _assert_one_line_failure(result, "safetensors")


def test_model_folder_that_is_not_a_model(tmp_path: Path):
    result = heron("ask", str(_tone(tmp_path)), QUESTION, "--model", str(tmp_path))
    _assert_one_line_failure(result, "config.json")


def test_empty_question(tmp_path: Path, tiny_model: Path):
    result = heron("ask", str(_tone(tmp_path)), "   ", "--model", str(tiny_model))
    _assert_one_line_failure(result, "question is empty")


@pytest.mark.parametrize("tokens", ["0", "-3", "many"])
def test_bad_token_count(tokens: str, tmp_path: Path, tiny_model: Path):
    result = heron(
        "ask", str(_tone(tmp_path)), QUESTION, "--model", str(tiny_model), "--max-new-tokens", tokens
    )
    _assert_one_line_failure(result, "max-new-tokens")


def test_cuda_without_a_gpu(tmp_path: Path, tiny_model: Path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = heron("ask", str(_tone(tmp_path)), QUESTION, "--model", str(tiny_model), "--device", "cuda")
    _assert_one_line_failure(result, "cuda")


def test_unknown_precision(tmp_path: Path):
    result = heron("ask", str(_tone(tmp_path)), QUESTION, "--precision", "int3")
    _assert_one_line_failure(result, "precision")


def test_missing_arguments():
    _assert_one_line_failure(heron("ask"), "required")
    _assert_one_line_failure(heron("ask", "--continue", "3"), "required")


def test_verbose_shows_the_traceback(tmp_path: Path):
    result = heron("--verbose", "ask", str(tmp_path / "nope.wav"), QUESTION)
    assert result.status == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("heron: ")
