"""A real listener hears what Heron says: a handful of answer texts through Heron's speech path and
Piper, transcribed by faster-whisper tiny.en (bench/intelligibility.py runs them all, both voices)."""

from __future__ import annotations

from engine.speech.tts import open_voice
from tests.intelligibility import TEXTS, hear, normalize, word_errors

SMOKE = [
    "At [01:05] a dog barks twice.",  # a time is said as a time, not digits and a colon
    "The chorus returns at [1:02:03].",
    "Roughly 1,250 people attended.",
    "**Speaker 1:** Welcome everyone.",  # markdown is not read out
]


def test_the_listener_and_the_score():
    assert word_errors(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"]) == 2
    assert normalize("At 1:05 p.m., F-A-Q: heron.dev, 3.5 KHz!") == [
        "at", "one", "oh", "five", "pm", "faq", "heron", "dot", "dev", "three", "point", "five", "kilohertz",
    ]  # fmt: skip


def test_piper_is_understood_by_a_listener():
    voice = open_voice("piper")
    results = [hear(voice, text, expected) for text, expected in TEXTS if text in SMOKE]
    assert len(results) == len(SMOKE)
    wer = sum(r.errors for r in results) / sum(r.words for r in results)
    # The voice varies a little from run to run; a time read as digits and a colon is far above this.
    assert wer <= 0.2, [(r.text, r.heard) for r in results if r.errors]
