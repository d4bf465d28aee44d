"""Peak memory of ``heron ask`` on a 10-hour recording, with the tiny offline model.

The recording (speech and pauses, 16 kHz WAV, about 1.2 GB) is written a minute at a time; the
question goes through the real command and engine process. Peak RSS is the largest of the
command and its engine child (the operating system's own accounting of finished children).
Prints a table and one JSON line: {"bench": "long_memory", "hours": 10, "peak_rss_mb": …, "seconds": …}.

``--window`` measures the window's side instead, in a fresh process: its RSS idle (Qt, the
waveform, the player), then while the window's loader opens the recording (peaks streamed, never
the samples), once the waveform shows it whole and zoomed in at 9:00:00, and while the player plays
10 s from 9:00:00 (read from the file; a stand-in sound device pulls its blocks in real time, so
that no shared sound device is touched):
{"bench": "long_memory_window", "hours": 10, "idle_rss_mb": …, "open_peak_rss_mb": …,
"shown_rss_mb": …, "playing_peak_rss_mb": …, "above_idle_mb": …, "open_s": …}.
"""

from __future__ import annotations

import argparse
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", action="store_true", help="the window's memory instead of heron ask's")
    parser.add_argument("--window-child", metavar="WAV", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.window_child:
        from long_memory_window import measure  # this folder, run as a script

        print(json.dumps(measure(Path(args.window_child))))
    elif args.window:
        window_bench()
    else:
        ask_bench()


def window_bench() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        recording = write_recording(Path(tmp) / "long.wav", HOURS)
        done = subprocess.run([sys.executable, __file__, "--window-child", str(recording)], cwd=ROOT,
                              capture_output=True, text=True, env={**os.environ, "HERON_HOME": tmp})  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"bench failed: {done.stderr.strip()}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    names = ["idle_rss_mb", "open_peak_rss_mb", "shown_rss_mb", "playing_peak_rss_mb", "above_idle_mb"]
    print(" ".join(f"{n:>20}" for n in ["hours", *names]))
    print(" ".join(f"{v:>20}" for v in [HOURS, *(figures[n] for n in names)]))
    print(json.dumps({"bench": "long_memory_window", "hours": HOURS, **figures}))


def ask_bench() -> None:
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
