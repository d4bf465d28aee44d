"""A spawned child process and the pipe to it: the model engine and the trainer each run in one.

Heavy work runs in a child so that a crash, an out-of-memory kill or a hang there never takes
the app down; the local engine (``engines.local``) and the trainer client speak their own protocols over
``conn`` and tell the user how a child that died ended (``exit_description``).
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable


class ChildProcess:
    def __init__(self, name: str):
        self.name = name
        self._context = multiprocessing.get_context("spawn")
        self.process = None
        self.conn = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def spawn(self, target: Callable, *args) -> None:
        """Start ``target(conn, *args)`` in a fresh process (forgetting a dead one)."""
        self.discard()
        parent, child = self._context.Pipe()
        self.process = self._context.Process(target=target, args=(child, *args), name=self.name, daemon=True)
        self.process.start()
        child.close()
        self.conn = parent

    def exit_description(self) -> str:
        """The child has died: wait for its exit status, forget it, and say how it ended."""
        self.process.join(1.0)
        code = self.process.exitcode
        self.discard()
        return describe_exit(code)

    def discard(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn = None, None


def describe_exit(code: int | None) -> str:
    """How a child process ended, in words."""
    if code is None:
        return "no exit status"
    if code < 0:
        name = signal.Signals(-code).name
        hint = ": often the system ran out of memory" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"exit status {code}"
