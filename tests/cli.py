"""Run the ``heron`` command as a user would: a separate process, its output and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

# As root, mode-000 files stay readable; dropping these capabilities makes root an ordinary reader.
WITHOUT_ROOT_READ = (
    ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
)


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def stderr_lines(self) -> list[str]:
        """What the user sees on stderr, less the library noise that is not Heron's."""
        noise = ("Failed to load CPU gemm_4bit_forward",)
        return [line for line in self.stderr.splitlines() if line.strip() and not line.startswith(noise)]


def heron(*args: str, timeout: float = 120, prefix: list[str] = (), **popen) -> Result:
    """``prefix``: a command to run heron under (e.g. one that drops privileges)."""
    env = {**os.environ, **popen.pop("env", {})}
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **popen,
    )
    return Result(done.returncode, done.stdout, done.stderr)
