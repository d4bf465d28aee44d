"""Start the desktop app: Qt on a qasync event loop, the window and its controller."""

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


def build_window(reopen: bool = False):
    """The main window wired to its controller, laid out as the user left it; ``reopen``: with
    the conversation that was open at the last quit."""
    from app.controller import Controller
    from ui.main_window import MainWindow

    window = MainWindow(__version__)
    controller = Controller(window)
    restore_layout(window, controller.qsettings)
    if reopen:
        controller.reopen_last()
    return window, controller


def restore_layout(window, store) -> None:
    if (geometry := store.value("window/geometry")) is not None:
        window.restoreGeometry(geometry)
    for name in ("main_splitter", "right_splitter"):
        if (state := store.value(f"window/{name}")) is not None:
            getattr(window, name).restoreState(state)


def save_layout(window, store) -> None:
    store.setValue("window/geometry", window.saveGeometry())
    for name in ("main_splitter", "right_splitter"):
        store.setValue(f"window/{name}", getattr(window, name).saveState())
    store.sync()


def run_gui(recording: str | None = None) -> int:
    """The desktop app until its window closes; ``recording`` is opened once it shows."""
    _check_display()
    import qasync
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.assets import ICON

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Heron")
    app.setOrganizationName("Heron")
    app.setDesktopFileName("heron")  # matches packaging/heron.desktop, for the dock's icon and grouping
    app.setWindowIcon(QIcon(str(ICON)))
    window, controller = build_window(reopen=not recording)
    window.show()
    controller.first_start()
    if recording:
        controller.open_recording(recording)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    try:
        qasync.run(closed.wait())
    finally:
        save_layout(window, controller.qsettings)
        controller.shutdown()
    return 0
