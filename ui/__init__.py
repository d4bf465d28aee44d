"""Heron's widgets (PySide6). No torch or transformers here: the window opens fast."""

from ui.qt_guard import pin_singletons

pin_singletons()  # PySide6 6.12 on CPython 3.11 would otherwise abort after a few thousand Qt calls
