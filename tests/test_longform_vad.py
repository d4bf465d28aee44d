"""The planner's speech detection runs silero-vad on one torch thread, then hands the threads back.

silero-vad runs its model once per 32 ms chunk; with two threads on a busy two-core machine each
call waited on the other thread, and 10 s of audio took 20 s instead of a fraction of a second.
"""

from __future__ import annotations

import silero_vad
import torch

from engine.longform.planner import speech_segments
from tests import media


def test_speech_is_detected_on_one_thread_and_the_model_keeps_its_threads(monkeypatch):
    seen: list[int] = []
    real = silero_vad.get_speech_timestamps

    def detect(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(silero_vad, "get_speech_timestamps", detect)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        found = speech_segments(media.speech("One sentence to find."), 16000)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert len(found) >= 1
