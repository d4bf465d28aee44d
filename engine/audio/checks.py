"""Path checks done before any decoder sees a file, and the one way this package words its errors.

The decoders' own messages for these cases are vague ("Format not recognised", "Invalid data") or
wrong (root can read a mode-000 file, so a permission problem shows up only on a real open).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.errors import AudioError

HEAD_BYTES = 64 * 1024  # enough for every magic number and a canonical header
TAIL_BYTES = 64 * 1024  # enough to hold the last Ogg page header


def audio_error(path: Path, reason: str, detail: object = None, verb: str = "open") -> AudioError:
    """``Cannot open 'name': reason (detail).`` — one line; a library's short reason goes in ``detail``."""
    message = f"Cannot {verb} '{Path(path).name}': {reason}"
    if detail is not None and str(detail).strip():
        message += f" ({_short(detail)})"
    return AudioError(message + ".")


def _short(detail: object) -> str:
    text = " ".join(str(detail).split()).rstrip(".")
    return text if len(text) <= 160 else text[:157] + "…"


@dataclass(frozen=True)
class FileBytes:
    """The first and last bytes of a file that passed the path checks."""

    size: int
    head: bytes
    tail: bytes


def read_ends(path: Path) -> FileBytes:
    """Check that ``path`` is a readable, non-empty regular file and read its two ends."""
    _check_stat(path)
    if not os.access(path, os.R_OK):
        raise audio_error(path, "permission denied (you may not read this file)")
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(HEAD_BYTES)
            f.seek(max(size - TAIL_BYTES, len(head)))
            tail = head[-TAIL_BYTES:] if size <= len(head) else f.read()
    except OSError as exc:
        raise os_error(path, exc) from exc
    if size == 0:
        raise audio_error(path, "the file is empty (0 bytes)")
    return FileBytes(size, head, tail)


def _check_stat(path: Path) -> None:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise os_error(path, exc) from exc
    if stat.S_ISDIR(st.st_mode):
        raise audio_error(path, "it is a folder, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise audio_error(path, "it is not a regular file (a device, pipe or socket)")


def os_error(path: Path, exc: OSError) -> AudioError:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return audio_error(path, "the file does not exist")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return audio_error(path, "permission denied (you may not read this file)")
    if exc.errno == errno.EISDIR:
        return audio_error(path, "it is a folder, not an audio file")
    return audio_error(path, "the file cannot be read", exc.strerror or exc)
