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
    Step(2, 65.0, 65.0, "a door slams", 0, 12, "reasoning", False, 65.72, 66.1, 0.83),
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
    assert [e.type for e in EXAMPLES] == [
        "text",
        "think",
        "step",
        "step",
        "step",
        "progress",
        "done",
        "error",
    ]


def test_a_snapped_step_keeps_its_cited_times_beside_the_snapped_ones():
    data = json.loads(EXAMPLES[4].to_json())
    assert (data["start_s"], data["snapped_start_s"], data["snapped_end_s"], data["confidence"]) == (
        65.0, 65.72, 66.1, 0.83,
    )  # fmt: skip
    assert EXAMPLES[4].snapped and not EXAMPLES[2].snapped


def test_a_step_from_an_older_heron_reads_as_unsnapped():
    old = {"type": "step", "index": 0, "start_s": 1.0, "end_s": 1.0, "text": "a bell"}
    step = event_from_dict(old)
    assert step.snapped_start_s is None and step.confidence is None and not step.snapped
