"""What answering from a server costs over answering locally, on the same machine.

Starts ``heron serve`` on localhost with the tiny offline model and asks the same 33-second
question (the bundled sample) through the local engine and through the remote engine, taking
the median time to first token of each. Also measures how many bytes 30 minutes of speech take
on the wire. Prints a table and one JSON line:
{"bench": "remote", "local_ttft_s": …, "remote_ttft_s": …, "overhead_ms": …, "upload_mb_per_30min": …,
"cancel_ms": …}; cancel_ms runs from a client's cancel to the server cancelling that answer in its
engine (how fast the engine then stops is bench/cancel.py's figure).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.engines.local import LocalEngine  # noqa: E402
from app.engines.openai_wire import encode_audio  # noqa: E402
from app.engines.remote import RemoteEngine  # noqa: E402
from engine.audio import SAMPLE_RATE, decode_audio  # noqa: E402
from engine.events import Error, TextDelta  # noqa: E402
from engine.model.tiny import build_tiny_model  # noqa: E402
from engine.requests import AskRequest, LoadRequest, ModelChoice, TurnSpec  # noqa: E402

SAMPLE = ROOT / "assets" / "sample-meeting.ogg"
RUNS = 7
TOKEN = "bench-token"


def median_ttft(engine, choice: ModelChoice) -> float:
    times = []
    for run in range(RUNS):
        request = AskRequest((TurnSpec(f"Question {run}: what happens here?", str(SAMPLE)),), choice, 8)
        asked = time.perf_counter()
        first = None
        for event in engine.ask(request):
            if isinstance(event, Error):
                raise SystemExit(f"bench failed: {event.message}")
            if isinstance(event, TextDelta) and first is None:
                first = time.perf_counter() - asked
        times.append(first)
    return statistics.median(times[1:])  # the first run warms caches on both sides


def cancel_ms(remote: RemoteEngine, url: str, choice: ModelChoice) -> float:
    """From the client's cancel to the server's queue being empty again (it has cancelled the answer)."""
    request = AskRequest((TurnSpec("Tell me everything.", str(SAMPLE)),), choice, 4000)
    health = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"})
    cancelled_at = None
    for event in remote.ask(request):
        if isinstance(event, TextDelta) and cancelled_at is None:
            cancelled_at = time.perf_counter()
            remote.cancel()
    while health.get(f"{url}/health").json()["queue"]:
        time.sleep(0.005)
    return 1000 * (time.perf_counter() - cancelled_at)


def upload_mb_per_30min() -> float:
    """Bytes on the wire for 30 minutes of speech (the sample, repeated)."""
    speech = decode_audio(SAMPLE)
    half_hour = np.resize(speech, 30 * 60 * SAMPLE_RATE)
    return len(encode_audio(half_hour)["data"]) / 1e6


def start_server(model: Path, home: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "app", "serve", "--model", str(model), "--device", "cpu",
               "--precision", "fp32", "--port", str(port), "--token", TOKEN]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, "HERON_HOME": home}, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("bench failed: heron serve did not start")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        choice = ModelChoice(str(model), tmp, "fp32", "cpu")
        local = LocalEngine()
        server, url = start_server(model, tmp)
        remote = RemoteEngine(url, TOKEN)
        try:
            list(local.load(LoadRequest(choice)))
            local_s = median_ttft(local, choice)
            remote_s = median_ttft(remote, choice)
            stop_ms = statistics.median(cancel_ms(remote, url, choice) for _ in range(5))
        finally:
            local.shutdown()
            remote.shutdown()
            server.terminate()
            server.wait(10)
    upload = upload_mb_per_30min()
    print(f"{'engine':<8} {'ttft s (median of ' + str(RUNS - 1) + ')':>24}")
    print(f"{'local':<8} {local_s:>24.4f}")
    print(f"{'remote':<8} {remote_s:>24.4f}")
    print(f"overhead {1000 * (remote_s - local_s):.1f} ms; 30 min of speech on the wire: {upload:.1f} MB; "
          f"cancel to the server cancelling: {stop_ms:.0f} ms (median of 5)")  # fmt: skip
    print(json.dumps({"bench": "remote", "local_ttft_s": round(local_s, 4), "remote_ttft_s": round(remote_s, 4),
                      "overhead_ms": round(1000 * (remote_s - local_s), 1),
                      "upload_mb_per_30min": round(upload, 2), "cancel_ms": round(stop_ms, 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
