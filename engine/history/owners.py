"""Who began a turn: this process, or another that may still be answering it.

A turn left ``asked`` or ``answering`` by a process that is gone was interrupted; one whose
process still runs (another window, a ``heron ask`` in a terminal) must be left alone.
"""

from __future__ import annotations

import os
import socket
import uuid

# The token tells this process apart from an earlier one that had the same pid.
HOST = socket.gethostname()
TOKEN = uuid.uuid4().hex


def owner_alive(host: str | None, pid: int | None, token: str | None) -> bool:
    """Could the process that began this turn still be answering it?"""
    if token == TOKEN:
        return True  # this process: another store here may be streaming into it
    if host != HOST or pid is None or pid == os.getpid():
        return False  # another machine's copy, or an earlier process that had our pid
    return _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _pid_alive_windows(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # type: ignore[attr-defined]  # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
