"""Training examples from a JSONL file, validated all at once before any training starts.

One example a line::

    {"audio": "clips/a.wav", "start": 1.5, "end": 4.0, "question": "…", "answer": "…", "reasoning": "…"}

``audio`` is relative to the JSONL file's folder; ``start``/``end`` (seconds, optional) cut a
clip out of it; ``reasoning`` (optional) is trained inside ``<think>…</think>`` before the
answer. Validation reads every line and decodes every audio file, and reports every problem
with its line number, so a person fixes the file once rather than once per failed run.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio import SAMPLE_RATE, decode_audio
from engine.errors import AudioError
from engine.files import MISSING, FileRefusedError, file_problem, open_regular, read_blocks, read_limited
from engine.trainer.errors import DatasetError

FIELDS = ("audio", "start", "end", "question", "answer", "reasoning")
REQUIRED_TEXT = ("audio", "question", "answer")
END_TOLERANCE_S = 0.01  # a clip may end this far past the decoded audio (rounding in the JSONL)
MIN_CLIP_S = 0.1  # the encoder needs a few frames to give a single audio token
MAX_PROBLEMS_SHOWN = 20  # in the one-line error; --check prints them all
MAX_DATASET_BYTES = 256 * 2**20  # about a million examples; a bigger file is surely not a dataset
DECODE_THREADS = min(4, os.cpu_count() or 1)
THINK_TEMPLATE = "<think>\n{reasoning}\n</think>\n\n{answer}"


@dataclass(frozen=True)
class Example:
    line: int  # 1-based line in the JSONL file
    audio: Path  # absolute
    question: str
    answer: str
    start: float | None = None
    end: float | None = None
    reasoning: str | None = None

    def clip(self, samples: np.ndarray) -> np.ndarray:
        """The part of the decoded file this example is about."""
        first = round((self.start or 0.0) * SAMPLE_RATE)
        last = len(samples) if self.end is None else round(self.end * SAMPLE_RATE)
        return samples[first:last]

    def key(self) -> tuple:
        return (str(self.audio), self.start, self.end, self.question, self.answer, self.reasoning)

    def target_text(self) -> str:
        """What the assistant writes: the answer, after the reasoning when there is one."""
        if self.reasoning:
            return THINK_TEMPLATE.format(reasoning=self.reasoning.strip(), answer=self.answer.strip())
        return self.answer.strip()


@dataclass
class DatasetReport:
    path: Path
    examples: list[Example] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # worth a look, but no reason to refuse the file
    clip_seconds: list[float] = field(default_factory=list)  # per example, in order
    sha256: str = ""  # over the JSONL and every audio file it names

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def audio_seconds(self) -> float:
        return float(sum(self.clip_seconds))

    def raise_if_invalid(self) -> None:
        if self.ok:
            return
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        raise DatasetError(
            f"{self.path} has {len(self.problems)} problem(s), training did not start: "
            + "; ".join(shown)
            + (f"; … and {more} more (heron train --check lists them all)" if more else "")
            + ".",
            problems=self.problems,
        )


ProgressFn = Callable[[float, float | None], None]


def read_dataset(
    path: Path, progress: ProgressFn | None = None, keep: DecodedAudio | None = None
) -> DatasetReport:
    """Parse and check every line of ``path``; decode every audio file once (into ``keep``, if given)."""
    path = Path(path).expanduser().resolve()
    raw = _read_bytes(path)
    report = DatasetReport(path=path)
    lines = raw.decode("utf-8", errors="replace").splitlines()
    parsed = [(n, _parse_line(n, text, path.parent, report.problems)) for n, text in enumerate(lines, 1)]
    candidates = [(n, ex) for n, ex in parsed if ex is not None]
    durations = _decode_all(path, candidates, report.problems, progress, keep)
    seen: dict[tuple, int] = {}
    for n, example in candidates:
        duration = durations.get(example.audio)
        if duration is None:
            continue
        if not _check_span(n, example, duration, report.problems):
            continue
        if example.key() in seen:
            report.problems.append(f"line {n}: duplicate of line {seen[example.key()]}")
            continue
        seen[example.key()] = n
        report.examples.append(example)
        report.clip_seconds.append(min(example.end or duration, duration) - (example.start or 0.0))
    if not lines or (not candidates and not report.problems):
        report.problems.append("the file holds no examples (one JSON object a line)")
    report.problems.sort(key=_line_of)
    report.notices = _outside_notices(path.parent, report.examples)
    report.sha256 = _dataset_hash(raw, [ex.audio for _, ex in candidates])
    return report


def load_dataset(
    path: Path, progress: ProgressFn | None = None, keep: DecodedAudio | None = None
) -> DatasetReport:
    """``read_dataset``, raising DatasetError (listing every problem) unless the file is valid."""
    report = read_dataset(path, progress, keep)
    report.raise_if_invalid()
    return report


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DatasetError(f"Dataset not found: {path}.")
    if path.is_dir():
        raise DatasetError(f"{path} is a folder: pass the JSONL file of training examples.")
    try:
        return read_limited(path, MAX_DATASET_BYTES)
    except FileRefusedError as exc:
        raise DatasetError(f"Cannot use {path} as a dataset: it {exc.reason}.") from exc


def _line_of(problem: str) -> int:
    head = problem.split(":", 1)[0]
    return int(head.removeprefix("line ")) if head.startswith("line ") else 0


# --- one line ----------------------------------------------------------------------------------


def _parse_line(n: int, text: str, folder: Path, problems: list[str]) -> Example | None:
    """The example on line ``n``, or None after adding its problems (blank lines are skipped)."""
    if not text.strip():
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(f"line {n}: not valid JSON ({exc.msg} at column {exc.colno})")
        return None
    except RecursionError:  # the parser recurses once per nested list or object
        problems.append(f"line {n}: the JSON is nested too deeply to read")
        return None
    if not isinstance(record, dict):
        problems.append(f'line {n}: not a JSON object (expected {{"audio": …, "question": …, …}})')
        return None
    found = [p for check in (_field_problems, _time_problems) for p in check(record)]
    problems.extend(f"line {n}: {p}" for p in found)
    if found:
        return None
    return Example(
        line=n,
        audio=(folder / record["audio"]).resolve(),
        question=record["question"],
        answer=record["answer"],
        start=_float_or_none(record.get("start")),
        end=_float_or_none(record.get("end")),
        reasoning=record.get("reasoning") or None,
    )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _field_problems(record: dict[str, Any]) -> list[str]:
    out = [f"unknown field {k!r} (fields: {', '.join(FIELDS)})" for k in record if k not in FIELDS]
    for name in REQUIRED_TEXT:
        value = record.get(name)
        if value is None:
            out.append(f"{name} is missing")
        elif not isinstance(value, str):
            out.append(f"{name} must be a string, not {type(value).__name__}")
        elif not value.strip():
            out.append(f"{name} is empty")
    reasoning = record.get("reasoning")
    if reasoning is not None and not (isinstance(reasoning, str) and reasoning.strip()):
        out.append("reasoning must be non-empty text when given (leave it out otherwise)")
    return out


def _time_problems(record: dict[str, Any]) -> list[str]:
    out = []
    for name in ("start", "end"):
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            out.append(f"{name} must be a number of seconds, not {value!r}")
        elif value < 0:
            out.append(f"{name} must not be negative ({value})")
    if out:
        return out
    start, end = record.get("start"), record.get("end")
    if start is not None and end is not None and end <= start:
        out.append(f"end ({end}) must be after start ({start})")
    return out


def _check_span(n: int, example: Example, duration: float, problems: list[str]) -> bool:
    name = example.audio.name
    if example.start is not None and example.start >= duration:
        problems.append(f"line {n}: start {example.start:g} s is past the end of {name} ({duration:.2f} s)")
        return False
    if example.end is not None and example.end > duration + END_TOLERANCE_S:
        problems.append(f"line {n}: end {example.end:g} s is past the end of {name} ({duration:.2f} s)")
        return False
    length = min(example.end or duration, duration) - (example.start or 0.0)
    if length < MIN_CLIP_S:
        problems.append(f"line {n}: the clip is {length:.3f} s long, shorter than {MIN_CLIP_S} s")
        return False
    return True


# --- audio -------------------------------------------------------------------------------------


class DecodedAudio:
    """Files decoded by validation, kept (within ``max_bytes``) for their first use after it.

    Training needs every clip once more right after validation, to encode it; keeping the
    samples spares decoding each file twice. ``take`` hands a file over and forgets it.
    """

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self.used = 0
        self._files: dict[Path, np.ndarray] = {}

    def offer(self, file: Path, samples: np.ndarray) -> None:
        if self.used + samples.nbytes <= self.max_bytes:
            self._files[file] = samples
            self.used += samples.nbytes

    def take(self, file: Path) -> np.ndarray | None:
        samples = self._files.pop(file, None)
        if samples is not None:
            self.used -= samples.nbytes
        return samples


def _decode_all(
    path: Path,
    candidates: list[tuple[int, Example]],
    problems: list[str],
    progress: ProgressFn | None,
    keep: DecodedAudio | None,
) -> dict[Path, float]:
    """Duration of every audio file that decodes; a problem line for each example whose file does not."""
    durations: dict[Path, float] = {}
    failures: dict[Path, str] = {}
    files = list(dict.fromkeys(ex.audio for _, ex in candidates))
    if progress is not None:
        progress(0, len(files))
    # Opening a file costs more than decoding a short one, and much of it runs without the GIL.
    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
        for done, (file, outcome) in enumerate(zip(files, pool.map(_decode_one, files), strict=True), 1):
            if isinstance(outcome, str):
                failures[file] = outcome
            else:
                durations[file] = len(outcome) / SAMPLE_RATE
                if keep is not None:
                    keep.offer(file, outcome)
            if progress is not None and (done % 16 == 0 or done == len(files)):
                progress(done, len(files))
    for n, example in candidates:
        if example.audio in failures:
            problems.append(
                f"line {n}: audio {_relative(example.audio, path.parent)} {failures[example.audio]}"
            )
    return durations


def _decode_one(file: Path) -> np.ndarray | str:
    """The decoded samples, or why the file cannot be used."""
    reason = _audio_problem(file)
    if reason is not None:
        return reason
    try:
        return decode_audio(file)
    except AudioError as exc:
        return f"cannot be decoded ({exc.message})"


def _audio_problem(file: Path) -> str | None:
    problem = file_problem(file)
    if problem == MISSING:
        return f"not found (looked for {file})"
    return problem


def _relative(file: Path, folder: Path) -> str:
    try:
        return str(file.relative_to(folder))
    except ValueError:
        return str(file)


def _outside_notices(folder: Path, examples: list[Example]) -> list[str]:
    """Examples whose audio lies outside the dataset's folder: allowed (a person's own files may be
    anywhere), but a dataset from someone else could name any file this way."""
    outside = [ex for ex in examples if not ex.audio.is_relative_to(folder)]
    return [f"line {ex.line}: audio {ex.audio} is outside the dataset's folder {folder}" for ex in outside]


def _dataset_hash(raw: bytes, files: list[Path]) -> str:
    digest = hashlib.sha256(raw)
    for file in dict.fromkeys(files):
        digest.update(str(file.name).encode())
        try:
            with open_regular(file) as (f, size):
                for block in read_blocks(f, size):
                    digest.update(block)
        except (FileRefusedError, OSError):
            digest.update(b"<unreadable>")
    return digest.hexdigest()


# --- split and summary -------------------------------------------------------------------------


def split_examples(
    examples: list[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """A reproducible held-out split: (train, eval). Keeps at least one training example."""
    if fraction <= 0 or len(examples) < 2:
        return list(examples), []
    count = min(len(examples) - 1, max(1, round(len(examples) * fraction)))
    order = np.random.default_rng(seed).permutation(len(examples))
    held = set(order[:count].tolist())
    train = [ex for i, ex in enumerate(examples) if i not in held]
    evals = [ex for i, ex in enumerate(examples) if i in held]
    return train, evals


def summary_lines(
    report: DatasetReport, tokenizer=None, words_note: str = " (pass --model to count tokens)"
) -> list[str]:
    """What ``heron train --check`` (and the trainer window) shows for a valid dataset; without a
    tokenizer, answers are counted in words, followed by ``words_note``."""
    files = len({ex.audio for ex in report.examples})
    total = report.audio_seconds
    lines = [
        f"{report.path}: valid",
        f"  examples: {len(report.examples)} ({sum(ex.reasoning is not None for ex in report.examples)} "
        f"with reasoning), audio files: {files}",
        f"  audio: {_duration(total)} in all, clips {min(report.clip_seconds):.1f}–"
        f"{max(report.clip_seconds):.1f} s (mean {total / len(report.clip_seconds):.1f} s)",
    ]
    lengths, unit = _answer_lengths(report.examples, tokenizer)
    unit += words_note if tokenizer is None else ""
    lines.append(
        f"  answers: {min(lengths)}–{max(lengths)} {unit} (median {statistics.median(lengths):g}, "
        f"total {sum(lengths)})"
    )
    lines.append(f"  sha256: {report.sha256}")
    lines += [f"  notice: {notice}" for notice in report.notices]
    return lines


def _answer_lengths(examples: list[Example], tokenizer) -> tuple[list[int], str]:
    texts = [ex.target_text() for ex in examples]
    if tokenizer is None:
        return [len(t.split()) for t in texts], "words"
    return [len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for t in texts], "tokens"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
