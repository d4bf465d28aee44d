"""One way of writing times, shared by answers, steps, the waveform's ruler and the CLI."""

from __future__ import annotations

import pytest

from engine.timefmt import clock
from ui.timefmt import anchor_label


@pytest.mark.parametrize(
    ("seconds", "options", "shown"),
    [
        (0, {}, "00:00"),
        (83.4, {}, "01:23"),
        (59.6, {}, "01:00"),  # rounded, so a tick at 59.9999… reads as the minute it is
        (3723, {}, "1:02:03"),
        (65.25, {"decimals": 2}, "01:05.25"),
        (5, {"hours": True}, "0:00:05"),
        (-0.4, {}, "00:00"),
    ],
)
def test_clock(seconds, options, shown):
    assert clock(seconds, **options) == shown


def test_anchor_labels_match_the_model_citation_style():
    assert anchor_label(12, 12) == "[00:12]"
    assert anchor_label(12, 45) == "[00:12–00:45]"
    assert anchor_label(3723, None) == "[1:02:03]"
    assert anchor_label(None, None) == ""
