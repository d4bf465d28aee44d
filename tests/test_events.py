"""Events survive the JSON round trip that ``--json`` and the GUI rely on."""

from __future__ import annotations

import json

import pytest

from engine.events import Done, Error, Progress, Step, TextDelta, ThinkDelta, event_from_dict

EXAMPLES = [
    TextDelta("héllo"),
    ThinkDelta("because"),
    Step(0, 1.5, 2.0, "a bell"),
    Step(1, None, None, "no anchor"),
    Progress("decode_audio", 3.0, 10.0),
    Done({"ttft_s": 0.2, "new_tokens": 5}),
    Error("audio", "Cannot open 'x.wav': the file is empty (0 bytes)."),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_round_trip(event):
    line = event.to_json()
    assert "\n" not in line
    assert event_from_dict(json.loads(line)) == event


def test_type_names_are_stable():
    assert [e.type for e in EXAMPLES] == ["text", "think", "step", "step", "progress", "done", "error"]
