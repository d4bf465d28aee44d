"""Time Heron's start-up: launch to the window shown on screen, cold and warm.

Runs the command under its own Xvfb display and polls the X server until a window titled
"Heron" is viewable. Cold: the kernel's page cache is dropped first (needs root; otherwise the
cold run is reported as not measured). Warm: the same command again, the median of ``--warm``
runs. Prints a table and one JSON line, like the benchmarks in bench/.

    python3 packaging/startup_time.py /tmp/heron-bundle/heron/heron
    python3 packaging/startup_time.py .venv/bin/heron --warm 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TITLE = '"Heron"'
TIMEOUT_S = 120.0


def start_display() -> tuple[subprocess.Popen, str]:
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            display = f":{number}"
            server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            for _ in range(100):
                if Path(f"/tmp/.X11-unix/X{number}").exists():
                    return server, display
                time.sleep(0.05)
            server.kill()
    raise SystemExit("startup_time: could not start Xvfb")


def window_viewable(display: str) -> bool:
    env = {**os.environ, "DISPLAY": display}
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True).stdout
    for line in tree.splitlines():
        if TITLE in line and (match := re.match(r"\s*(0x[0-9a-f]+)", line)):
            info = subprocess.run(
                ["xwininfo", "-id", match.group(1)], env=env, capture_output=True, text=True
            )
            if "IsViewable" in info.stdout:
                return True
    return False


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def launch(command: list[str], display: str, home: Path) -> float:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "DISPLAY": display, "LANG": "C.UTF-8"}
    start = time.perf_counter()
    log = home / "startup-stderr.txt"
    with log.open("w") as stderr:
        app = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        while time.perf_counter() - start < TIMEOUT_S:
            if window_viewable(display):
                return time.perf_counter() - start
            if app.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise SystemExit(
                    f"startup_time: {command[0]} exited with {app.returncode} before a window:\n{tail}"
                )
            time.sleep(0.02)
        raise SystemExit(f"startup_time: no window within {TIMEOUT_S:.0f} s")
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="+", help="what starts Heron's window")
    parser.add_argument("--warm", type=int, default=3, help="warm runs (median reported)")
    args = parser.parse_args(argv)
    if not shutil.which("xwininfo") or not shutil.which("Xvfb"):
        raise SystemExit("startup_time: needs Xvfb and xwininfo (apt-get install xvfb x11-utils)")
    server, display = start_display()
    try:
        with tempfile.TemporaryDirectory() as home:
            launch(args.command, display, Path(home))  # the first start writes settings: not timed
            cold = launch(args.command, display, Path(home)) if drop_caches() else None
            warm = [launch(args.command, display, Path(home)) for _ in range(args.warm)]
    finally:
        server.terminate()
    result = {"command": " ".join(args.command), "cold_s": cold and round(cold, 2),
              "warm_s": round(statistics.median(warm), 2), "warm_runs": [round(w, 2) for w in warm]}  # fmt: skip
    print(f"{'start-up':<10} {'seconds':>8}")
    cold_text = f"{cold:.2f}" if cold else "n/a"
    print(f"{'cold':<10} {cold_text:>8}")
    print(f"{'warm':<10} {result['warm_s']:>8.2f}   (median of {len(warm)})")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
