"""Start the desktop app: Qt on a qasync event loop."""

from __future__ import annotations

import asyncio
import os
import sys

from engine import __version__
from engine.errors import DeviceError


def _check_display() -> None:
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise DeviceError(
            "No display found: start Heron from a desktop session, or use `heron ask` in a terminal."
        )


def run_gui() -> int:
    _check_display()
    import qasync
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Heron")
    app.setOrganizationName("Heron")
    window = MainWindow(__version__)
    window.show()
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    qasync.run(closed.wait())
    return 0
