"""Time to first token of a first question and of a follow-up on a 30-minute recording.

Runs through the engine process on the tiny offline model. The first question includes
decoding the file, feature extraction and prefilling ~45k audio tokens; the follow-up reuses
the prefilled conversation. Model loading is done before timing. Prints a table and ends
with one JSON line: {"bench": "followup", "first_ttft_s": …, "followup_ttft_s": …, "speedup": …}.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engines.local import LocalEngine  # noqa: E402
from engine.audio import SAMPLE_RATE  # noqa: E402
from engine.events import Done, Error, TextDelta  # noqa: E402
from engine.model.tiny import build_tiny_model  # noqa: E402
from engine.requests import AskRequest, LoadRequest, ModelChoice, TurnSpec  # noqa: E402

MINUTES = 30
FOLLOW_UPS = 3


def write_recording(path: Path) -> Path:
    """Thirty minutes of noise bursts and tones: content does not matter to the timing."""
    rng = np.random.default_rng(0)
    rate = SAMPLE_RATE
    with soundfile.SoundFile(path, "w", rate, 1, "PCM_16") as out:
        for minute in range(MINUTES):
            t = np.arange(60 * rate) / rate
            block = 0.2 * np.sin(2 * np.pi * (200 + 10 * minute) * t) * (rng.random(t.size) > 0.3)
            out.write(block.astype(np.float32))
    return path


def time_to_first_token(client: LocalEngine, request: AskRequest) -> tuple[float, str, dict]:
    asked = time.perf_counter()
    ttft, text, stats = None, [], {}
    for event in client.ask(request):
        if isinstance(event, TextDelta):
            ttft = ttft or time.perf_counter() - asked
            text.append(event.text)
        elif isinstance(event, Error):
            raise SystemExit(f"bench failed: {event.message}")
        elif isinstance(event, Done):
            stats = event.stats
    return ttft, "".join(text), stats


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        recording = write_recording(Path(tmp) / "long.wav")
        choice = ModelChoice(str(model), tmp, "fp32", "cpu")
        client = LocalEngine()
        try:
            list(client.load(LoadRequest(choice)))
            turns = [TurnSpec("What happens in this recording?", str(recording))]
            first, answer, stats = time_to_first_token(client, AskRequest(tuple(turns), choice, 16))
            rows = [("first question", first, stats)]
            turns[-1] = TurnSpec(turns[-1].question, str(recording), answer)
            for i in range(FOLLOW_UPS):
                question = f"Follow-up number {i + 1}: tell me more."
                ttft, answer, stats = time_to_first_token(
                    client, AskRequest((*turns, TurnSpec(question)), choice, 16)
                )
                rows.append((f"follow-up {i + 1}", ttft, stats))
                turns.append(TurnSpec(question, None, answer))
        finally:
            client.shutdown()
    print(f"{'question':<16} {'ttft s':>8} {'prompt tok':>11} {'reused tok':>11}")
    for name, ttft, stats in rows:
        print(f"{name:<16} {ttft:>8.3f} {stats['prompt_tokens']:>11} {stats['reused_tokens']:>11}")
    followup = sorted(r[1] for r in rows[1:])[len(rows[1:]) // 2]
    print(
        json.dumps(
            {
                "bench": "followup",
                "first_ttft_s": round(first, 3),
                "followup_ttft_s": round(followup, 3),
                "speedup": round(first / followup, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
