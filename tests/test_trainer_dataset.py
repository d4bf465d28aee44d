"""Training data and settings: every dataset problem listed at once with its line, the split,
the summary, and settings from TOML plus flags."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.trainer.config import TrainConfig, changed_settings, load_config
from engine.trainer.dataset import Example, load_dataset, read_dataset, split_examples, summary_lines
from engine.trainer.errors import DatasetError, TrainConfigError
from tests import media


def _wav(folder: Path, name: str, seconds: float) -> Path:
    return media.write_wav(folder / "clips" / name, media.tone(seconds=seconds), 16000)


def _jsonl(path: Path, lines: list) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8"
    )
    return path


def _ok(audio: str = "clips/a.wav", **extra) -> dict:
    return {"audio": audio, "question": "How many beeps?", "answer": "two", **extra}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "clips").mkdir()
    _wav(tmp_path, "a.wav", 3.0)
    _wav(tmp_path, "b.wav", 2.0)
    (tmp_path / "clips" / "text.wav").write_text("this is not audio\n")
    media.write_wav(tmp_path / "clips" / "cut.wav", media.tone(seconds=3.0), 16000)
    data = (tmp_path / "clips" / "cut.wav").read_bytes()
    (tmp_path / "clips" / "cut.wav").write_bytes(data[: len(data) // 4])
    return tmp_path


def test_every_problem_is_listed_at_once_with_its_line(folder: Path):
    path = _jsonl(
        folder / "data.jsonl",
        [
            _ok(),  # 1 fine
            _ok("clips/missing.wav"),  # 2 missing audio
            _ok("clips/text.wav"),  # 3 not audio
            _ok("clips/cut.wav"),  # 4 truncated audio
            '{"audio": "clips/a.wav", "question": "Q" "answer": "x"}',  # 5 bad JSON
            "",  # 6 blank: skipped
            {"audio": "clips/a.wav", "answer": "two"},  # 7 no question
            _ok(answer="  "),  # 8 empty answer
            _ok(start=2.5, end=9.0),  # 9 end past the audio
            _ok(start=2.0, end=1.0),  # 10 end before start
            _ok(start=5.0),  # 11 start past the audio
            _ok(),  # 12 duplicate of 1
            [1, 2],  # 13 not an object
            _ok(anwser="typo", reasoning=""),  # 14 unknown field, empty reasoning
            _ok("clips/b.wav", start="1"),  # 15 start not a number
            _ok("clips/b.wav", question=3),  # 16 question not text
        ],
    )
    report = read_dataset(path)
    expected = {
        2: "not found",
        3: "cannot be decoded",
        4: "cannot be decoded",
        5: "not valid JSON",
        7: "question is missing",
        8: "answer is empty",
        9: "past the end",
        10: "must be after start",
        11: "past the end",
        12: "duplicate of line 1",
        13: "not a JSON object",
        14: "unknown field 'anwser'",
        15: "start must be a number",
        16: "question must be a string",
    }
    for line, words in expected.items():
        assert any(p.startswith(f"line {line}:") and words in p for p in report.problems), (
            line,
            report.problems,
        )
    assert any(p.startswith("line 14:") and "reasoning" in p for p in report.problems)
    assert not any(p.startswith(("line 1:", "line 6:")) for p in report.problems)
    assert [ex.line for ex in report.examples] == [1]
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    assert caught.value.problems == report.problems
    assert "training did not start" in caught.value.message and "\n" not in caught.value.message


def test_missing_or_empty_file_is_one_clear_error(tmp_path: Path):
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DatasetError, match="no examples"):
        load_dataset(tmp_path / "empty.jsonl")


def test_valid_dataset_summary_and_hash(folder: Path):
    path = _jsonl(
        folder / "data.jsonl",
        [
            _ok(),
            _ok("clips/b.wav", answer="one"),
            _ok(start=1.0, end=2.5, reasoning="Two tones at 0:01."),
        ],
    )
    report = load_dataset(path)
    assert [ex.line for ex in report.examples] == [1, 2, 3]
    assert report.audio_seconds == pytest.approx(3.0 + 2.0 + 1.5, abs=0.01)
    assert report.examples[0].audio == (folder / "clips" / "a.wav").resolve()
    text = "\n".join(summary_lines(report))
    assert "examples: 3 (1 with reasoning)" in text and "audio files: 2" in text and "words" in text
    assert read_dataset(path).sha256 == report.sha256
    media.write_wav(folder / "clips" / "b.wav", media.tone(seconds=2.0, freq=300), 16000)
    assert read_dataset(path).sha256 != report.sha256, "changed audio changes the hash"


def test_clip_cuts_the_span_and_split_is_reproducible():
    import numpy as np

    example = Example(line=1, audio=Path("x.wav"), question="q", answer="a", start=0.5, end=1.0)
    assert len(example.clip(np.zeros(32000, np.float32))) == 8000
    examples = [Example(line=i, audio=Path(f"{i}.wav"), question="q", answer="a") for i in range(50)]
    train, held = split_examples(examples, 0.2, seed=3)
    assert (len(train), len(held)) == (40, 10)
    assert split_examples(examples, 0.2, seed=3) == (train, held)
    assert split_examples(examples, 0.2, seed=4)[1] != held
    assert {ex.line for ex in train} | {ex.line for ex in held} == set(range(50))
    assert split_examples(examples[:1], 0.5, seed=0) == (examples[:1], [])


def test_toml_then_flags(tmp_path: Path):
    toml = tmp_path / "run.toml"
    toml.write_text(
        '[train]\ndata = "data/train.jsonl"\nout = "adapter"\nlora_r = 8\nlearning_rate = 1\n'
        'target_modules = ["q_proj", "v_proj"]\ntrain_projector = true\n'
    )
    with pytest.raises(TrainConfigError, match="learning_rate must be above 0 and below 1"):
        load_config(toml)
    config = load_config(toml, {"learning_rate": 0.001, "batch_size": 2})
    assert config.data == str((tmp_path / "data" / "train.jsonl").resolve())
    assert config.out == str((tmp_path / "adapter").resolve())
    assert (config.lora_r, config.batch_size, config.learning_rate) == (8, 2, 0.001)
    assert config.target_modules == ["q_proj", "v_proj"] and config.train_projector


def test_bad_settings_are_all_named(tmp_path: Path):
    toml = tmp_path / "bad.toml"
    toml.write_text('data = "d.jsonl"\nout = "o"\nlora_rank = 8\nepochs = "three"\n')
    with pytest.raises(TrainConfigError) as caught:
        load_config(toml)
    assert (
        "unknown setting 'lora_rank'" in caught.value.message
        and "epochs should be float" in caught.value.message
    )
    with pytest.raises(TrainConfigError) as caught:
        TrainConfig(batch_size=0, schedule="step", lora_dropout=1.0).validate()
    for words in ("data is missing", "out is missing", "batch_size", "schedule", "lora_dropout"):
        assert words in caught.value.message
    (tmp_path / "broken.toml").write_text("data = \n")
    with pytest.raises(TrainConfigError, match="not valid TOML"):
        load_config(tmp_path / "broken.toml")


def test_changed_settings_ignore_the_harmless_ones():
    old = TrainConfig(data="d", out="o").to_dict()
    assert changed_settings(old, TrainConfig(data="d", out="o", checkpoint_every=7, threads=1)) == []
    assert changed_settings(old, TrainConfig(data="d", out="o", learning_rate=1e-3, seed=2)) == [
        "learning_rate",
        "seed",
    ]


def test_devices_and_pipes_are_listed_and_never_read(folder: Path):
    """Decoding refused them, but hashing the dataset read /dev/zero for ever and waited on the FIFO."""
    from tests.cli import heron

    os.mkfifo(folder / "clips" / "fifo.wav")
    path = _jsonl(
        folder / "data.jsonl",
        [_ok(), _ok("/dev/zero"), _ok("/dev/urandom"), _ok("clips/fifo.wav"), _ok("clips")],
    )
    result = heron("train", "--check", str(path), timeout=60)
    assert result.status == 2
    assert result.stderr_lines[1:] == [
        "  line 2: audio /dev/zero is not a regular file (a device, pipe or socket)",
        "  line 3: audio /dev/urandom is not a regular file (a device, pipe or socket)",
        "  line 4: audio clips/fifo.wav is not a regular file (a device, pipe or socket)",
        "  line 5: audio clips is a folder, not a file",
    ]


def test_a_dataset_that_is_a_device_pipe_or_huge_is_refused_unread(tmp_path: Path, monkeypatch):
    from engine.trainer import dataset
    from tests.cli import heron

    os.mkfifo(tmp_path / "fifo.jsonl")
    for name in ("/dev/zero", str(tmp_path / "fifo.jsonl")):
        result = heron("train", "--check", name, timeout=60)
        assert result.status == 2
        assert result.stderr_lines == [
            f"heron: Cannot use {name} as a dataset: it is not a regular file (a device, pipe or socket)."
        ]
    monkeypatch.setattr(dataset, "MAX_DATASET_BYTES", 1024)
    _jsonl(tmp_path / "big.jsonl", [_ok()] * 20)
    with pytest.raises(DatasetError, match=r"big.jsonl as a dataset: it is larger than 1 KB\.$"):
        read_dataset(tmp_path / "big.jsonl")


def test_a_deeply_nested_line_is_a_problem_of_that_line(folder: Path):
    path = _jsonl(folder / "data.jsonl", [_ok(), "[" * 1100, _ok("clips/b.wav")])
    report = read_dataset(path)
    assert report.problems == ["line 2: the JSON is nested too deeply to read"]
    assert [ex.line for ex in report.examples] == [1, 3]


def test_audio_outside_the_dataset_folder_is_allowed_with_a_notice(folder: Path):
    outside = folder / "elsewhere"
    outside.mkdir()
    media.write_wav(outside / "c.wav", media.tone(seconds=1.0), 16000)
    data = folder / "sets" / "data.jsonl"
    data.parent.mkdir()
    (data.parent / "clips").symlink_to(folder / "clips")
    path = _jsonl(data, [_ok("../elsewhere/c.wav"), _ok(str(outside / "c.wav"), answer="one"), _ok()])
    report = read_dataset(path)
    assert report.ok, report.problems
    assert report.notices == [
        f"line 1: audio {outside / 'c.wav'} is outside the dataset's folder {data.parent}",
        f"line 2: audio {outside / 'c.wav'} is outside the dataset's folder {data.parent}",
        f"line 3: audio {folder / 'clips' / 'a.wav'} is outside the dataset's folder {data.parent}",
    ]
    assert summary_lines(report)[-3:] == [f"  notice: {notice}" for notice in report.notices]
    inside = read_dataset(_jsonl(folder / "inside.jsonl", [_ok(), _ok("clips/b.wav")]))
    assert inside.ok and inside.notices == []


def test_a_settings_file_that_is_a_pipe_or_not_utf8_is_refused_unread(tmp_path: Path):
    from tests.cli import heron

    os.mkfifo(tmp_path / "run.toml")
    result = heron("train", str(tmp_path / "run.toml"), "--check", timeout=60)
    assert result.status == 2
    assert result.stderr_lines == [
        f"heron: Cannot use {tmp_path / 'run.toml'} as training settings: "
        "it is not a regular file (a device, pipe or socket)."
    ]
    (tmp_path / "latin.toml").write_bytes('data = "caf\u00e9.jsonl"\n'.encode("latin-1"))
    with pytest.raises(
        TrainConfigError, match=r"latin.toml is not UTF-8 text \(byte 12\): save it as UTF-8\.$"
    ):
        load_config(tmp_path / "latin.toml")
