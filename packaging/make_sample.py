"""Make ``assets/sample-meeting.ogg``: the recording Help ▸ Try the sample recording opens.

Also ``assets/spoken-question.ogg``, a question said aloud between two stretches of room tone:
``heron doctor --self-test`` checks that speech detection finds it.

A 35-second scene made from Heron's own voice (espeak-ng) and synthesised sounds, so it is ours
to ship: two people in a meeting, a doorbell, a piano phrase during the break, applause at the
end. Questions it answers: "What was approved, and for how much?", "When does the doorbell ring?",
"What happens after the break?". Run from the top of the checkout: ``.venv/bin/python
packaging/make_sample.py``; the output is deterministic (a fixed seed), so re-running it changes
nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.speech.espeak import EspeakVoice  # noqa: E402 (after the path is set)

OUT = ROOT / "assets" / "sample-meeting.ogg"
QUESTION_OUT = ROOT / "assets" / "spoken-question.ogg"
QUESTION = "What was approved in the meeting?"
RATE = 22050  # espeak-ng's own rate

ALEX = EspeakVoice("en-us", rate=0.95, pitch=38)
SAM = EspeakVoice("en+f3", rate=1.0, pitch=55)  # British English, a female variant
SCRIPT = [
    (ALEX, "Good morning, everyone. Let's start with the budget for the new studio."),
    (SAM, "The budget is approved: twelve thousand euros, as we planned."),
    ("doorbell", None),
    (ALEX, "That must be the delivery. Let's take a five minute break."),
    ("piano", None),
    (SAM, "We're back. The launch date is the third of March."),
    (ALEX, "Then that's settled. Thank you all."),
    ("applause", None),
]


def make(rng: np.random.Generator) -> np.ndarray:
    parts = [room_tone(rng, 1.0)]
    for who, line in SCRIPT:
        if line is not None:
            parts += [0.8 * who.synthesize(line), room_tone(rng, 0.7)]
        else:
            parts += [SOUNDS[who](rng), room_tone(rng, 0.8)]
    scene = np.concatenate(parts)
    scene += room_tone(rng, len(scene) / RATE)  # the room under everything
    return (scene / max(1.0, np.abs(scene).max() / 0.9)).astype(np.float32)


def room_tone(rng: np.random.Generator, seconds: float) -> np.ndarray:
    noise = rng.standard_normal(int(seconds * RATE))
    return (np.convolve(noise, np.ones(8) / 8, mode="same") * 0.004).astype(np.float32)


def _time(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * RATE)) / RATE


def doorbell(_rng) -> np.ndarray:
    """Ding-dong: two bell tones (a fundamental and inharmonic partials) fading out."""

    def bell(freq: float, seconds: float) -> np.ndarray:
        t = _time(seconds)
        partials = sum(a * np.sin(2 * np.pi * freq * k * t) for k, a in ((1, 1.0), (2.76, 0.4), (5.4, 0.2)))
        return partials * np.exp(-t * 2.5) * 0.35

    return np.concatenate([bell(659.3, 0.7), bell(523.3, 1.6)]).astype(np.float32)


def piano(_rng) -> np.ndarray:
    """A short phrase, C major, with a plucked-string envelope."""
    notes = [261.6, 329.6, 392.0, 523.3, 392.0, 329.6, 349.2, 440.0, 523.3, 261.6]
    pieces = []
    for i, freq in enumerate(notes):
        t = _time(0.9 if i == len(notes) - 1 else 0.4)
        tone = sum(np.sin(2 * np.pi * freq * k * t) / k**1.5 for k in range(1, 6))
        pieces.append(tone * np.exp(-t * 4.0) * 0.25)
    return np.concatenate(pieces).astype(np.float32)


def applause(rng: np.random.Generator) -> np.ndarray:
    """Many hands: short bursts of filtered noise at random times, swelling then fading."""
    length = int(3.0 * RATE)
    out = np.zeros(length)
    clap = rng.standard_normal(int(0.012 * RATE)) * np.exp(-np.arange(int(0.012 * RATE)) / 60)
    swell = np.sin(np.pi * np.arange(length) / length) ** 0.5
    for start in rng.integers(0, length - len(clap), 900):
        out[start : start + len(clap)] += clap * rng.uniform(0.3, 1.0) * swell[start]
    return (np.diff(out, prepend=0.0) * 0.08).astype(np.float32)


SOUNDS = {"doorbell": doorbell, "piano": piano, "applause": applause}


def spoken_question(rng: np.random.Generator) -> np.ndarray:
    """The question in Alex's voice, with 0.8 s of room tone before and 1 s after."""
    speech = 0.8 * ALEX.synthesize(QUESTION)
    clip = np.concatenate([room_tone(rng, 0.8), speech, room_tone(rng, 1.0)])
    return (clip + room_tone(rng, len(clip) / RATE)).astype(np.float32)


def main() -> None:
    for out, clip in (
        (OUT, make(np.random.default_rng(7))),
        (QUESTION_OUT, spoken_question(np.random.default_rng(8))),
    ):
        soundfile.write(out, clip, RATE, format="OGG", subtype="VORBIS")
        print(f"{out.relative_to(ROOT)}: {len(clip) / RATE:.1f} s, {out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
