"""Screenshots of the first-run welcome's pages in a real window (run under Xvfb by test_welcome.py).

python -m tests.welcome_screenshots OUT_DIR  — writes welcome-computer.png, welcome-model.png,
welcome-sound.png and welcome-done.png in Heron's light theme, and each again as -dark.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.screenshots import settle


def main(out: Path) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMainWindow

    from app.settings import Settings
    from app.welcome import WelcomeFlow
    from ui.theme import apply_theme
    from ui.welcome import PAGES

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    window = QMainWindow()
    window.resize(1280, 800)
    window.show()
    with tempfile.TemporaryDirectory() as home:
        store = QSettings(str(Path(home) / "heron.ini"), QSettings.Format.IniFormat)
        flow = WelcomeFlow(window, Settings(), store, Path(home) / "models")
        flow.open()
        for theme, suffix in (("light", ""), ("dark", "-dark")):
            apply_theme(theme)
            for page in PAGES:
                flow.dialog.show_page(page)
                if page == "model":  # as it looks mid-download
                    flow.dialog.set_downloading(True)
                    flow.dialog.set_progress(
                        6_200_000_000, 16_500_000_000, "6.20 of 16.50 GB · 48.0 MB/s, 4 min left"
                    )
                if page == "sound":
                    flow.dialog.set_level(0.45)
                settle(app, 0.4)
                flow.dialog.grab().save(str(out / f"welcome-{page}{suffix}.png"))
        flow.dialog.set_downloading(False)
        flow.dialog.reject()
        settle(app, 0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
