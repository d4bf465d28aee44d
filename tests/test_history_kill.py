"""A real ``kill -9`` of a process writing the history loses no finished turn and no asked question.

The child prints a line after each commit; the test kills it at chosen moments (or blindly, after a
delay), reopens the database and checks every printed commit against what is stored.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.events import Step
from engine.history import HistoryStore, TurnState

ROOT = Path(__file__).resolve().parents[1]

# Texts are built so that every checkpoint is a prefix of the next and of the final answer.
CHILD = r"""
import sys
from engine.events import Step
from engine.history import HistoryStore

path, mode = sys.argv[1], sys.argv[2]

def say(*parts):
    print(*parts, flush=True)

store = HistoryStore(path)
conversation = store.create_conversation("kill test", model="tiny")
say("conversation", conversation)
n = 0
while True:
    n += 1
    turn = store.begin_turn(conversation, f"question {n}")
    say("begun", turn, n)
    answer, reasoning = f"answer {n}:", f"reasoning {n}:"
    k = 0
    while mode == "stall" and n > 3 or k < 5:
        k += 1
        answer += f" {k}"
        reasoning += f" {k}"
        store.save_partial(turn, answer, reasoning)
        say("partial", turn, k)
    steps = [Step(0, float(n), float(n) + 0.5, f"step {n}")]
    store.finish_turn(turn, answer + ".", reasoning, steps, {"n": n})
    say("finished", turn)
"""


def partial_text(n: int, k: int) -> tuple[str, str]:
    """The child's k-th checkpoint of turn n (k = 0: nothing saved yet)."""
    if k == 0:
        return "", ""
    tail = "".join(f" {i}" for i in range(1, k + 1))
    return f"answer {n}:{tail}", f"reasoning {n}:{tail}"


def checkpoint_number(answer: str) -> int:
    return len(answer.split(":", 1)[1].split()) if answer else 0


@dataclass
class Child:
    """The child process and what it has printed so far (each line: one committed write)."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[list[str]] = field(default_factory=list)

    @classmethod
    def start(cls, db: Path, mode: str) -> Child:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), mode], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        child = cls(proc)
        threading.Thread(target=child._pump, daemon=True).start()
        return child

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.endswith("\n"):  # a line cut short by the kill reports nothing
                self.lines.put(line)
        self.lines.put("")  # end of output

    def wait_for(self, kind: str, count: int, timeout: float = 10.0) -> None:
        """Read lines until ``count`` lines of ``kind`` have been seen."""
        deadline = time.monotonic() + timeout
        while sum(1 for parts in self.seen if parts[0] == kind) < count:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            assert line, f"the child ended early: {self.seen[-3:]}"
            self.seen.append(line.split())

    def kill(self) -> None:
        if hasattr(signal, "SIGKILL"):
            os.kill(self.proc.pid, signal.SIGKILL)
        else:
            self.proc.kill()  # Windows: TerminateProcess, just as abrupt
        self.proc.wait()  # reaped: its pid no longer counts as alive
        while (line := self.lines.get(timeout=10)) != "":
            self.seen.append(line.split())  # printed before the kill: committed too


def check(db: Path, seen: list[list[str]]) -> None:
    """Everything the child reported as committed is in the reopened database, which is sound."""
    begun = {int(p[1]): int(p[2]) for p in seen if p[0] == "begun"}
    finished = {int(p[1]) for p in seen if p[0] == "finished"}
    partials: dict[int, int] = {}
    for p in seen:
        if p[0] == "partial":
            partials[int(p[1])] = max(partials.get(int(p[1]), 0), int(p[2]))

    with HistoryStore(db) as store:
        conversations = store.list_conversations()
        printed = any(p[0] == "conversation" for p in seen)
        assert [c.title for c in conversations] in (["kill test"], [] if not printed else ["kill test"])
        turns = {t.id: t for c in conversations for t in store.get_conversation(c.id).turns}
        assert not [t for t in turns.values() if t.state in (TurnState.ASKED, TurnState.ANSWERING)]
        assert set(store.recovered_turns) == {
            t.id for t in turns.values() if t.state == TurnState.INTERRUPTED
        }
        assert set(begun) <= set(turns) and len(turns) <= len(begun) + 1  # at most one commit unprinted

        for turn_id, turn in turns.items():
            n = turn.position
            final_answer, final_reasoning = partial_text(n, 5)
            assert turn.question == f"question {n}"
            if turn_id in finished:
                assert turn.state == TurnState.DONE
            if turn.state == TurnState.DONE:
                assert (turn.answer, turn.reasoning) == (final_answer + ".", final_reasoning)
                assert turn.steps == (Step(0, float(n), n + 0.5, f"step {n}"),) and turn.stats == {"n": n}
                continue
            assert turn.state == TurnState.INTERRUPTED and turn.interrupted
            # the last printed checkpoint, or a later one committed just before the kill; never torn
            k = checkpoint_number(turn.answer)
            assert k >= partials.get(turn_id, 0)
            assert (turn.answer, turn.reasoning) == partial_text(n, k)

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_kill_while_streaming_keeps_question_and_partial(tmp_path: Path):
    db = tmp_path / "history.db"
    child = Child.start(db, "stall")
    try:
        child.wait_for("finished", 3)
        child.wait_for("partial", 3 * 5 + 10)  # well into the fourth answer
        with HistoryStore(db) as other:  # another Heron opening meanwhile leaves the live turn alone
            assert other.recovered_turns == ()
            live = max(int(p[1]) for p in child.seen if p[0] == "begun")
            assert other.get_turn(live).state == TurnState.ANSWERING
    finally:
        child.kill()
    check(db, child.seen)
    with HistoryStore(db) as store:
        turn = store.get_turn(live)
        assert turn.state == TurnState.INTERRUPTED and turn.answer.startswith(
            "answer 4: 1 2 3 4 5 6 7 8 9 10"
        )


@pytest.mark.parametrize(
    ("kind", "count"), [("finished", 4), ("begun", 3), ("partial", 7), ("conversation", 1)]
)
def test_kill_at_a_chosen_moment(tmp_path: Path, kind: str, count: int):
    db = tmp_path / "history.db"
    child = Child.start(db, "loop")
    try:
        child.wait_for(kind, count)
    finally:
        child.kill()  # the child races on: the kill lands somewhere in the next writes
    check(db, child.seen)


def test_kill_blindly(tmp_path: Path):
    """Kills at random moments: while opening and migrating, mid-transaction, mid-checkpoint."""
    rng = random.Random(1234)
    for attempt in range(6):
        db = tmp_path / f"history-{attempt}.db"
        child = Child.start(db, "loop")
        time.sleep(rng.uniform(0.05, 0.6))
        child.kill()
        if db.exists():
            check(db, child.seen)
