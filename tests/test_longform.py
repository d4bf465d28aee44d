"""Recordings longer than the model hears: windows cut in pauses, absolute times, a combining pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.events import Done, Progress, Step, ThinkDelta
from engine.longform import planner
from engine.longform.timecode import absolute_times
from engine.reasoning import StepEvents
from engine.requests import AskRequest, ModelChoice, TurnSpec
from engine.runtime.host import ModelHost
from engine.runtime.process import handle
from engine.runtime.protocol import Ask
from engine.timefmt import clock
from tests import media

RATE = 16000


@pytest.fixture(scope="module")
def tiny_30s(tmp_path_factory) -> Path:
    """A tiny model whose processor keeps 30 s: the windows are as long as that."""
    from engine.model.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-30s"), max_audio_len=30)


def speech_every(period: float, talk: float):
    """A stand-in detector: speech from k*period to k*period + talk, pauses between."""

    def detect(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
        length = len(samples) / rate
        starts = np.arange(0, length, period)
        return [(float(s), float(min(s + talk, length))) for s in starts]

    return detect


def test_short_recordings_are_one_window():
    windows = planner.plan_windows(np.zeros(10 * RATE, np.float32), max_window_s=30)
    assert windows == [planner.Window(0, 0.0, 10.0)]


def test_cuts_fall_in_pauses_and_windows_cover_everything():
    samples = np.zeros(200 * RATE, np.float32)
    detect = speech_every(period=7.0, talk=5.5)  # pauses of 1.5 s
    windows = planner.plan_windows(samples, max_window_s=60, search_s=20, overlap_s=1.0, speech=detect)
    assert windows[0].start_s == 0 and windows[-1].end_s == 200
    for window, following in zip(windows, windows[1:], strict=False):
        assert window.duration_s <= 60
        assert following.start_s == pytest.approx(window.end_s - 1.0), "a short overlap"
    for window in windows[:-1]:
        # the cut is in a pause of the detector, measured in the window's own search region
        region_start = window.start_s + 60 - 20
        offset = (window.end_s - region_start) % 7.0
        assert 5.5 < offset < 7.0, (window, offset)


def test_without_speech_windows_run_to_the_limit():
    windows = planner.plan_windows(np.zeros(100 * RATE, np.float32), max_window_s=40, speech=lambda s, r: [])
    assert [w.end_s for w in windows[:-1]] == [40.0, 78.0]


def test_silero_finds_the_pauses_in_real_speech():
    sentence = media.speech("The quick brown fox jumps over the lazy dog near the river bank.")
    gap = np.zeros(int(0.9 * RATE), np.float32)
    samples = np.concatenate([sentence, gap] * 12)
    windows = planner.plan_windows(samples, max_window_s=25, search_s=8, overlap_s=0.5)
    period = (len(sentence) + len(gap)) / RATE
    for window in windows[:-1]:
        into = window.end_s % period
        assert len(sentence) / RATE - 0.05 < into < period + 0.05, (window, into)


@pytest.mark.parametrize(
    "text, offset, expected",
    [
        ("It rings at [01:05].", 1800, "It rings at [31:05]."),
        ("From 00:10 to 00:20 a dog.", 3600, "From [1:00:10–1:00:20] a dog."),
        ("3 speakers in 2024, 12.5 s in.", 60, "3 speakers in 2024, [01:12] in."),
    ],
)
def test_window_times_become_absolute(text, offset, expected):
    assert absolute_times(text, offset) == expected


def test_steps_of_a_rewritten_window_answer_carry_absolute_times():
    answer = absolute_times("The bell rings at [02:03].", 3596.0)
    shown = ThinkDelta(f"Part 3 of 6 ({clock(3596)}–{clock(5394)})\n\n{answer}\n\n")
    tracker = StepEvents(audio_duration=3 * 3600)
    steps = tracker.on_event(shown) + tracker.finish()
    assert [(s.start_s, s.end_s) for s in steps] == [(3596.0, 5394.0), (3719.0, 3719.0)]
    assert steps[1].text == "The bell rings at [1:01:59]."


def test_a_long_recording_is_answered_window_by_window(tiny_30s, tmp_path):
    sentence = media.speech("One sentence about the weather, and then a pause.")
    samples = np.concatenate([sentence, np.zeros(RATE, np.float32)] * 20)
    path = media.write_wav(tmp_path / "long.wav", samples, RATE)
    request = AskRequest(
        (TurnSpec("What is said?", str(path)),), ModelChoice(str(tiny_30s), "/x", "fp32", "cpu"), 8
    )
    events = list(handle(ModelHost(), Ask(1, request), lambda: False))
    done = events[-1]
    assert isinstance(done, Done), events[-3:]
    count = done.stats["windows"]
    assert count >= 3 and done.stats["audio_s"] == pytest.approx(len(samples) / RATE, abs=0.01)
    windows = [e for e in events if isinstance(e, Progress) and e.stage == "windows"]
    assert [e.done for e in windows] == list(range(count + 1))
    parts = "".join(e.text for e in events if isinstance(e, ThinkDelta))
    assert [f"Part {i + 1} of {count} (" in parts for i in range(count)] == [True] * count
    assert all(isinstance(e, Step) or e.type != "step" for e in events)
    headers = [e for e in events if isinstance(e, Step) and e.text.startswith("Part ")]
    assert len(headers) == count and all(h.end_s - h.start_s <= 30 for h in headers), (
        "the processor keeps 30 s"
    )


def test_cancel_during_the_windows(tiny_30s, tmp_path):
    samples = np.concatenate([media.speech("Talking for a while."), np.zeros(RATE, np.float32)] * 30)
    path = media.write_wav(tmp_path / "long.wav", samples, RATE)
    request = AskRequest((TurnSpec("What?", str(path)),), ModelChoice(str(tiny_30s), "/x", "fp32", "cpu"), 8)
    seen = []

    def cancel_after_first_part() -> bool:
        return any(isinstance(e, ThinkDelta) for e in seen)

    for event in handle(ModelHost(), Ask(1, request), cancel_after_first_part):
        seen.append(event)
    assert isinstance(seen[-1], Done) and seen[-1].stats["finish"] == "cancelled"
    assert sum(isinstance(e, ThinkDelta) for e in seen) == 1
