"""Reading files a person named: regular files only, and never more than a stated size.

A device (``/dev/zero``, ``/dev/urandom``) can be read forever, and opening a FIFO blocks until
someone writes to it. So a path is opened without blocking and checked to be a regular file
before a byte is read, and every read stops at a limit: the size stated when the file was
opened, or less.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from engine.errors import HeronError

MISSING = "does not exist"
NOT_REGULAR = "is not a regular file (a device, pipe or socket)"


class FileRefusedError(HeronError):
    """A named file that is missing, not a regular file, unreadable or too large."""

    kind = "file"

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path} {reason}.")
        self.path, self.reason = Path(path), reason


def file_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable regular file ("does not exist", …), or None when it is one."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return _os_reason(exc)
    return _mode_problem(mode)


@contextmanager
def open_regular(path: Path) -> Iterator[tuple[BinaryIO, int]]:
    """The open file and its size; FileRefusedError unless ``path`` is a readable regular file."""
    try:
        # O_NONBLOCK: opening a FIFO returns at once (to be refused) instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileRefusedError(path, _os_reason(exc)) from exc
    st = os.fstat(fd)
    if (problem := _mode_problem(st.st_mode)) is not None:
        os.close(fd)
        raise FileRefusedError(path, problem)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as file:
        yield file, st.st_size


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The whole of a regular file of at most ``max_bytes``; FileRefusedError otherwise."""
    with open_regular(path) as (file, size):
        if size > max_bytes:
            raise FileRefusedError(path, f"is larger than {_size(max_bytes)}")
        try:
            data = file.read(max_bytes + 1)
        except OSError as exc:
            raise FileRefusedError(path, _os_reason(exc)) from exc
    if len(data) > max_bytes:  # it grew after it was opened
        raise FileRefusedError(path, f"is larger than {_size(max_bytes)}")
    return data


def read_blocks(file: BinaryIO, size: int, block: int = 1 << 20) -> Iterator[bytes]:
    """The first ``size`` bytes of ``file`` in blocks: a file that grows while read is still bounded."""
    left = size
    while left > 0 and (data := file.read(min(block, left))):
        left -= len(data)
        yield data


def _mode_problem(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        return NOT_REGULAR
    return None


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return MISSING
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot be read (permission denied)"
    if exc.errno == errno.EISDIR:
        return "is a folder, not a file"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link that loops"
    return f"cannot be read ({exc.strerror or exc})"


def _size(count: int) -> str:
    return f"{count / 2**20:g} MB" if count >= 2**20 else f"{count / 1024:g} KB"
