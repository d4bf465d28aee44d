"""Peak memory of ``heron ask`` on a 10-hour recording, with the tiny offline model.

The recording (speech and pauses, 16 kHz WAV, about 1.2 GB) is written a minute at a time; the
question goes through the real command and engine process. Peak RSS is the largest of the
command and its engine child (the operating system's own accounting of finished children).
Prints a table and one JSON line: {"bench": "long_memory", "hours": 10, "peak_rss_mb": …, "seconds": …}.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.audio import SAMPLE_RATE  # noqa: E402
from engine.model.tiny import build_tiny_model  # noqa: E402
from tests import media  # noqa: E402

HOURS = int(os.environ.get("HERON_BENCH_HOURS", "10"))


def write_recording(path: Path, hours: int) -> Path:
    sentence = media.speech("Here is another minute of the long meeting, with a pause after it.")
    minute = np.resize(np.concatenate([sentence, np.zeros(2 * SAMPLE_RATE, np.float32)]), 60 * SAMPLE_RATE)
    with soundfile.SoundFile(path, "w", SAMPLE_RATE, 1, "PCM_16") as out:
        for _ in range(hours * 60):
            out.write(minute.astype(np.float32))
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        recording = write_recording(Path(tmp) / "long.wav", HOURS)
        command = [sys.executable, "-m", "app", "ask", str(recording), "What is discussed?", "--json",
                   "--model", str(model), "--max-new-tokens", "8"]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "HERON_HOME": tmp})  # fmt: skip
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench failed: {done.stderr.strip()}")
    last = json.loads(done.stdout.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{'hours':>5} {'windows':>8} {'peak RSS MB':>12} {'seconds':>8}")
    print(f"{HOURS:>5} {last['stats'].get('windows', 1):>8} {peak_mb:>12.0f} {seconds:>8.0f}")
    print(json.dumps({"bench": "long_memory", "hours": HOURS, "peak_rss_mb": round(peak_mb),
                      "seconds": round(seconds)}))  # fmt: skip


if __name__ == "__main__":
    main()
