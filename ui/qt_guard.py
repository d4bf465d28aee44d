"""A guard against a PySide6 6.12 bug on CPython 3.11: wrapped calls that return None or a bool
drop one reference to ``None``/``True``/``False`` each time (shiboken treats them as immortal, as
they are from 3.12 on). After a few thousand paint calls CPython aborts with "deallocating None".

``pin_singletons()`` gives the three a reference count so large (2**40) that no session can use it
up, but only when a probe shows the leak. Call it once, early; it is a no-op on 3.12+.
"""

from __future__ import annotations

import ctypes
import sys

PIN = 1 << 40
_pinned = False


def leaks_none() -> bool:
    """True when a void Qt call steals a reference to None (the bug this module works around)."""
    from PySide6.QtGui import QColor

    color = QColor()
    before = sys.getrefcount(None)
    for _ in range(8):
        color.setRed(1)
    return sys.getrefcount(None) < before


def pin_singletons() -> bool:
    """Make None, True and False effectively immortal if needed; True if it did so."""
    global _pinned
    if _pinned or sys.version_info >= (3, 12) or not leaks_none():
        return False
    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt: PyObject's first field
        before = sys.getrefcount(obj)
        count.value += PIN
        if sys.getrefcount(obj) != before + PIN:  # a build with another object layout: undo
            count.value -= PIN
            return False
    _pinned = True
    return True
