"""A synthetic counting task: 2–8 s clips with one, two or three short beeps.

Each clip holds 1 kHz beeps of 100–150 ms at random times with random gaps, over faint
noise; the question is "How many beeps are there?" and the answer a word. Used by
``bench/train_demo.py`` and the trainer tests: cheap to make in any quantity, with an
answer no model can guess better than one time in three without hearing the clip.

    python bench/beeps.py OUT_DIR --clips 2000 --seed 0      # OUT_DIR/train.jsonl + OUT_DIR/clips/
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.audio import SAMPLE_RATE

RATE = SAMPLE_RATE
QUESTION = "How many beeps are there?"
WORDS = {1: "one", 2: "two", 3: "three"}
FREQ_HZ = 1000.0
BEEP_S = (0.10, 0.15)
CLIP_S = (2.0, 8.0)
MIN_GAP_S = 0.15  # silence between two beeps, so they never merge
EDGE_S = 0.1  # no beep touches a clip's ends
FADE_S = 0.005  # no clicks: clicks would be extra "events"


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray  # float32 mono at RATE
    count: int
    onsets_s: tuple[float, ...]


def make_clip(
    rng: np.random.Generator, count: int | None = None, seconds_range: tuple[float, float] = CLIP_S
) -> Clip:
    count = int(rng.integers(1, 4)) if count is None else count
    seconds = float(rng.uniform(*seconds_range))
    lengths = rng.uniform(*BEEP_S, size=count)
    onsets = _onsets(rng, seconds, lengths)
    samples = (rng.standard_normal(round(seconds * RATE)) * 0.003).astype(np.float32)
    for onset, length in zip(onsets, lengths, strict=True):
        start = round(onset * RATE)
        beep = _beep(length, float(rng.uniform(0.3, 0.6)))
        samples[start : start + len(beep)] += beep
    return Clip(samples, count, tuple(float(o) for o in onsets))


def _onsets(rng: np.random.Generator, seconds: float, lengths: np.ndarray) -> np.ndarray:
    """Random start times: the free time is shared out at random between the gaps."""
    free = seconds - 2 * EDGE_S - lengths.sum() - MIN_GAP_S * (len(lengths) - 1)
    cuts = np.sort(rng.uniform(0, free, size=len(lengths)))
    starts, at = [], EDGE_S
    previous_cut = 0.0
    for length, cut in zip(lengths, cuts, strict=True):
        at += cut - previous_cut
        starts.append(at)
        at += length + MIN_GAP_S
        previous_cut = cut
    return np.array(starts)


def _beep(seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    wave = amplitude * np.sin(2 * np.pi * FREQ_HZ * t)
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / FADE_S)
    return (wave * fade).astype(np.float32)


def write_dataset(
    folder: Path, clips: int, seed: int, name: str = "train", seconds: tuple[float, float] = CLIP_S
) -> Path:
    """``clips`` WAV files under ``folder/clips`` and ``folder/{name}.jsonl``; returns the JSONL path.

    ``seconds``: the range of clip lengths (tests use shorter clips than the bench's 2–8 s).
    """
    folder = Path(folder)
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, _name_seed(name)])
    lines = []
    for i in range(clips):
        clip = make_clip(rng, seconds_range=seconds)
        relative = f"clips/{name}-{i:05d}.wav"
        sf.write(folder / relative, clip.samples, RATE, subtype="PCM_16")
        lines.append(json.dumps({"audio": relative, "question": QUESTION, "answer": WORDS[clip.count]}))
    jsonl = folder / f"{name}.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return jsonl


def _name_seed(name: str) -> int:
    return sum(ord(c) * 31**i for i, c in enumerate(name)) % (2**31)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="train")
    args = parser.parse_args(argv)
    print(write_dataset(args.out, args.clips, args.seed, args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
