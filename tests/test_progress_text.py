"""Long work in words: parts done, time left, and what a follow-up on a long recording costs (issue 16)."""

from __future__ import annotations

from engine.events import Progress, Stage


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_parts_done_and_the_time_left():
    from app.progress_text import PartsClock

    clock = FakeClock()
    parts = PartsClock(clock)
    parts.start()
    assert parts.label(Progress(Stage.WINDOWS, 0.0, 6.0)) == "Listening part by part: part 1 of 6…"
    clock.now += 120.0  # two parts in two minutes: four more take about four
    assert parts.label(Progress(Stage.WINDOWS, 2.0, 6.0)).endswith("2 of 6 parts done · about 4 min left")
    clock.now += 240.0
    assert "all 6 parts heard" in parts.label(Progress(Stage.WINDOWS, 6.0, 6.0))
    parts.finished({"windows": 6})
    assert parts.last_long_answer_s == 360.0
    note = parts.follow_up_note(2 * 3600.0)
    assert note and "about 6 min" in note and "again" in note
    assert parts.follow_up_note(20 * 60.0) is None  # heard at once: its follow-ups reuse the context


def test_the_recording_is_not_read_twice_in_words():
    from app.progress_text import PartsClock

    label = PartsClock().label(Progress(Stage.DECODE_AUDIO, 0.0, 1.0))
    assert "Reading" not in label and "Preparing" in label


def test_duration_words():
    from app.progress_text import duration_words

    assert [duration_words(s) for s in (3, 42, 90, 3600, 4500)] == [
        "about 5 s",
        "about 40 s",
        "about 2 min",
        "about 1 h",
        "about 1 h 15 min",
    ]


def test_a_reopened_long_answer_gives_the_estimate_from_its_own_time():
    from app.progress_text import PartsClock

    parts = PartsClock(FakeClock())
    parts.finished({"windows": 4, "total_s": 250.0})  # as the history keeps a part-by-part answer
    assert "about 4 min" in parts.follow_up_note(2 * 3600.0)
    parts.finished({"finish": "stop", "total_s": 3.0})  # a short answer changes nothing
    assert parts.last_long_answer_s == 250.0
    parts.forget()
    assert parts.follow_up_note(2 * 3600.0) is None
