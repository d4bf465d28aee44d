"""How fast a cancel ends an answer: ``LocalEngine.cancel()`` to the stream's ``Done``.

Runs on the tiny offline model (built into a temporary folder). Prints a table and ends
with one JSON line: {"bench": "cancel", "stop_ms_median": …, "stop_ms_max": …, "runs": …}.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engines.local import LocalEngine  # noqa: E402
from engine.events import Done, TextDelta  # noqa: E402
from engine.model.tiny import build_tiny_model  # noqa: E402
from engine.requests import AskRequest, ModelChoice, TurnSpec  # noqa: E402

RUNS = 10


def one_cancel(client: LocalEngine, request: AskRequest, tokens_before: int) -> tuple[float, str]:
    stream = client.ask(request)
    seen = 0
    for event in stream:
        seen += isinstance(event, TextDelta)
        if seen >= tokens_before:
            break
    asked = time.perf_counter()
    client.cancel()
    last = list(stream)[-1]
    elapsed = (time.perf_counter() - asked) * 1000
    finish = last.stats.get("finish") if isinstance(last, Done) else type(last).__name__
    return elapsed, finish


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        client = LocalEngine()
        choice = ModelChoice(str(model), tmp, "fp32", "cpu")
        request = AskRequest((TurnSpec("Keep talking."),), choice, max_new_tokens=30000)
        try:
            results = [one_cancel(client, request, tokens_before=5 + 10 * i) for i in range(RUNS)]
        finally:
            client.shutdown()
    times = [ms for ms, _ in results]
    print(f"{'run':>4} {'stop ms':>8}  finish")
    for i, (ms, finish) in enumerate(results):
        print(f"{i:>4} {ms:>8.1f}  {finish}")
    print(
        json.dumps(
            {
                "bench": "cancel",
                "stop_ms_median": round(statistics.median(times), 1),
                "stop_ms_max": round(max(times), 1),
                "runs": RUNS,
            }
        )
    )


if __name__ == "__main__":
    main()
