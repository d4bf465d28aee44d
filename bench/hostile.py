"""The hostile campaigns of issue 18, re-run: kill -9 at random moments, and concurrent asks.

1. 20 times, ``heron ask`` (the tiny model, one shared history) is killed with SIGKILL at a random
   moment of its run, the command line or its engine child (chosen at random). Then: SQLite's
   ``PRAGMA integrity_check``; lost turns (an ask whose answer had begun to stream, yet whose
   question is not in the history); stuck turns (still "asked" or "answering" after a later
   ``heron history list``, and after the next asks opened the history to write); engine children
   left running after their command died.
2. 4 concurrent asks on the same history, 5 rounds: any "database is locked", any failed ask.

Prints a table and one JSON line:
{"bench": "hostile", "kills": 20, "integrity": "ok", "lost_turns": 0, "stuck_turns": 0, …,
 "concurrent_asks": 20, "locked": 0, "failed_asks": 0, "seconds": …}
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.audio import SAMPLE_RATE  # noqa: E402
from engine.model.tiny import build_tiny_model  # noqa: E402
from tests import media  # noqa: E402


class Campaign:
    def __init__(self, home: Path, model: Path, clip: Path):
        self.home, self.model, self.clip = home, model, clip
        self.env = {**os.environ, "HERON_HOME": str(home)}

    def ask(self, question: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "app", "ask", str(self.clip), question, "--json",
                   "--model", str(self.model), "--max-new-tokens", "48"]  # fmt: skip
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip

    def history(self) -> Path:
        return self.home / "data" / "history.sqlite3"

    def heron(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True)  # fmt: skip


def kill_at_random(campaign: Campaign, kills: int, rng: random.Random, full_s: float) -> dict:
    began, killed = {}, {"cli": 0, "engine": 0}
    orphans = 0
    for n in range(kills):
        question = f"Hostile question {n}"
        process = campaign.ask(question)
        time.sleep(rng.uniform(0.3, full_s))
        target = rng.choice(["cli", "engine"])
        children = _children(process.pid)
        victim = children[0] if target == "engine" and children else None
        if process.poll() is None:
            os.kill(victim.pid if victim else process.pid, signal.SIGKILL)
            killed["engine" if victim else "cli"] += 1
        out, _ = process.communicate(timeout=120)
        began[question] = any('"type"' in line for line in out.splitlines())  # the answer had begun
        orphans += _reap(children)
    return {"began": began, "killed": killed, "orphans": orphans}


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _reap(children: list[psutil.Process]) -> int:
    """Children still running 5 s after their command ended (killed here, and counted)."""
    left = []
    deadline = time.monotonic() + 5
    for child in children:
        try:
            child.wait(max(deadline - time.monotonic(), 0.01))
        except psutil.TimeoutExpired:
            left.append(child)
            child.kill()
        except psutil.Error:
            pass
    return len(left)


def check_history(campaign: Campaign, began: dict[str, bool]) -> dict:
    campaign.heron("history", "list")  # a later Heron reads the history (read-only: it settles nothing)
    with sqlite3.connect(campaign.history()) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = db.execute("SELECT question, state FROM turns").fetchall()
    stored = {question: state for question, state in rows}
    lost = [q for q, started in began.items() if started and q not in stored]
    stuck = [q for q, state in stored.items() if state in ("asked", "answering")]
    return {"integrity": integrity, "lost": lost, "stuck": stuck, "states": sorted(set(stored.values()))}


def concurrent(campaign: Campaign, clients: int, rounds: int) -> dict:
    locked = failed = 0
    for r in range(rounds):
        asks = [campaign.ask(f"Concurrent question {r}.{c}") for c in range(clients)]
        for process in asks:
            out, err = process.communicate(timeout=600)
            locked += "database is locked" in (out + err).lower()
            failed += process.returncode != 0
    return {"asks": clients * rounds, "locked": locked, "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = media.write_wav(
            tmp / "clip.wav", media.speech("Somebody knocks twice on the door."), SAMPLE_RATE
        )
        campaign = Campaign(tmp / "home", build_tiny_model(tmp / "tiny"), clip)
        first = time.perf_counter()
        warm = campaign.ask("A whole answer first")
        warm.communicate(timeout=600)
        full_s = time.perf_counter() - first  # the kills land anywhere in a run this long
        kills = kill_at_random(campaign, args.kills, random.Random(args.seed), full_s)
        history = check_history(campaign, kills["began"])
        crowd = concurrent(campaign, args.clients, args.rounds)
        after = check_history(campaign, {})
    figures = {
        "bench": "hostile",
        "kills": args.kills,
        "killed_cli": kills["killed"]["cli"],
        "killed_engine": kills["killed"]["engine"],
        "answers_begun_before_kill": sum(kills["began"].values()),
        "integrity": history["integrity"],
        "lost_turns": len(history["lost"]),
        "stuck_after_history_list": len(history["stuck"]),
        "stuck_after_next_asks": len(after["stuck"]),
        "orphaned_engines": kills["orphans"],
        "concurrent_asks": crowd["asks"],
        "locked": crowd["locked"],
        "failed_asks": crowd["failed"],
        "integrity_after_concurrent": after["integrity"],
        "seconds": round(time.perf_counter() - started),
    }
    print(f"{'kills':>6} {'cli':>4} {'engine':>7} {'lost':>5} {'stuck':>6} {'orphans':>8} {'asks':>5} {'locked':>7} "
          f"{'failed':>7} integrity")  # fmt: skip
    print(f"{args.kills:>6} {figures['killed_cli']:>4} {figures['killed_engine']:>7} {figures['lost_turns']:>5} "
          f"{len(history['stuck']):>3}/{len(after['stuck'])} {figures['orphaned_engines']:>8} {crowd['asks']:>5} "
          f"{crowd['locked']:>7} {crowd['failed']:>7} {history['integrity']}/{after['integrity']}")  # fmt: skip
    if history["lost"] or history["stuck"] or after["stuck"]:
        print("lost:", history["lost"], "stuck:", history["stuck"], "then:", after["stuck"], file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
