"""The app in a real X window (Xvfb): screenshots of its main states, light and dark, kept in ./screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.screenshots import STATES, assert_drawn, run_under_xvfb, shot_name

OUT = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.mark.slow  # about 30 s: every state twice (light, dark) in a real X server
def test_screenshots_of_the_main_states(tiny_model: Path):
    run_under_xvfb("tests.screenshots", str(OUT), str(tiny_model))
    for theme in ("light", "dark"):
        for state in STATES:
            assert_drawn(OUT / shot_name(state, theme))
