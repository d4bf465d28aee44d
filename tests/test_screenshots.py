"""The app in a real X window (Xvfb): screenshots of its main states, kept in ./screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.screenshots import assert_drawn, run_under_xvfb

STATES = ("empty", "recording", "answer", "settings", "models")
OUT = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.mark.slow
def test_screenshots_of_the_main_states(tiny_model: Path):
    run_under_xvfb("tests.screenshots", str(OUT), str(tiny_model))
    for state in STATES:
        assert_drawn(OUT / f"{state}.png")
