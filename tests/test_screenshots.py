"""The app in a real X window (Xvfb): screenshots of its main states, kept in ./screenshots."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

STATES = ("empty", "recording", "answer", "settings", "models")
OUT = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.mark.slow
def test_screenshots_of_the_main_states(tiny_model: Path):
    if shutil.which("xvfb-run") is None:
        pytest.fail("xvfb-run is missing: install the xvfb package (the test installer does)")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    command = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", sys.executable, "-m", "tests.screenshots",
               str(OUT), str(tiny_model)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for state in STATES:
        image = QImage(str(OUT / f"{state}.png"))
        assert not image.isNull() and image.width() >= 300, state
        colours = {
            image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)
        }
        assert len(colours) > 5, f"{state}.png looks blank"
