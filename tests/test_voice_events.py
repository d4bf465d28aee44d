"""Voice events join the shared vocabulary and survive the JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.events import EVENT_TYPES, event_from_dict
from engine.voice.events import (
    BargeIn,
    InputLevel,
    ListeningChanged,
    Notice,
    Speaking,
    SpeechEnded,
    SpeechStarted,
    Utterance,
)

EXAMPLES = [
    ListeningChanged(True, "auto"),
    InputLevel(-42.5),
    SpeechStarted(1.25),
    SpeechEnded(3.5, 2.0),
    Utterance(2.5),
    Speaking(True, "A dog barks."),
    BargeIn(4.0, 120.0),
    Notice("The microphone 'USB' is not connected: using 'pulse' instead."),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_round_trip(event):
    assert EVENT_TYPES[event.type] is type(event)
    assert event_from_dict(json.loads(event.to_json())) == event


def test_utterance_samples_stay_out_of_json():
    event = Utterance(1.0, samples=np.zeros(16000, np.float32))
    data = json.loads(event.to_json())
    assert data == {"type": "utterance", "duration_s": 1.0, "cut_short": False}
