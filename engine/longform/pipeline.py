"""Answer about a recording longer than the model hears at once.

Each window is asked the question on its own; its answer, with times made absolute, is shown
as reasoning ("Part 2 of 6, 29:58–59:56: …"); a final text-only pass combines the parts
into one answer. Every time that reaches the user counts from the start of the recording.

Whoever answers each question is the caller's ``AskOne``: the model in this process (the engine)
or a server asked one window at a time (the remote engine), so both cut the same windows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any, Protocol

import numpy as np

from engine.audio.recording import Recording
from engine.events import Done, Event, Finish, Progress, Stage, ThinkDelta
from engine.longform.planner import Window, plan_windows
from engine.longform.timecode import absolute_times
from engine.streams import relay, with_progress
from engine.timefmt import clock


class Answered(Protocol):
    """What one question leaves: its answer without reasoning, and how it ended."""

    answer_text: str
    finish: str


# (question, clip or None, asked_at or None) -> the answer's events, returning what it answered;
# asked_at is given for the combining pass only (its time to first token counts from the ask).
AskOne = Callable[[str, np.ndarray | None, float | None], Generator[Event, None, Any]]

WINDOW_QUESTION = (
    "{question}\n\n(This is part {number} of {count} of a longer recording: it runs from {start} to {end} "
    "of the whole. Answer for this part only, citing moments as [mm:ss] from the start of this part.)"
)
COMBINE_QUESTION = (
    "A recording {duration} long was heard in {count} consecutive parts. For each part, here is the "
    'answer to the question "{question}", with times counted from the start of the whole recording:\n\n'
    "{parts}\n\n{earlier}Combine these into one answer to the question, citing moments as [h:mm:ss]."
)


def answer_in_windows(
    ask_one: AskOne,
    recording: Recording,
    max_window_s: float,
    question: str,
    should_cancel: Callable[[], bool],
    asked_at: float,
    earlier: list[tuple[str, str]] = (),
) -> Generator[Event, None, Answered | None]:
    """Windows, then the combining pass; ``earlier`` holds the conversation's (question, answer)
    turns. Returns the combining pass's outcome; None when cancelled."""
    windows = yield from with_progress(Stage.PLAN_WINDOWS, _plan, recording, max_window_s)
    parts: list[str] = []
    for window in windows:
        yield Progress(Stage.WINDOWS, float(window.index), float(len(windows)))
        if should_cancel():
            return (yield from _cancelled(asked_at))
        part = yield from _ask_window(ask_one, recording, window, len(windows), question)
        if part is None:
            return (yield from _cancelled(asked_at))
        parts.append(part)
    yield Progress(Stage.WINDOWS, float(len(windows)), float(len(windows)))
    return (yield from _combine(ask_one, recording.duration_s, windows, question, parts, earlier, asked_at))


def _plan(recording: Recording, max_window_s: float, progress) -> list[Window]:
    return plan_windows(recording, max_window_s)


def _ask_window(ask_one: AskOne, recording: Recording, window: Window, count: int, question: str):
    """The window's answer with absolute times, shown as reasoning; None if cancelled."""
    clip = recording.span(window.start_s, window.end_s)  # only this window's audio is in memory
    asked = WINDOW_QUESTION.format(question=question, number=window.index + 1, count=count,
                                   start=clock(window.start_s), end=clock(window.end_s))  # fmt: skip
    outcome = yield from relay(ask_one(asked, clip, None), lambda e: [])  # its text is shown rewritten, below
    if outcome.finish == Finish.CANCELLED:
        return None
    text = absolute_times(outcome.answer_text.strip(), window.start_s)
    header = f"Part {window.index + 1} of {count} ({clock(window.start_s)}–{clock(window.end_s)})"
    yield ThinkDelta(f"{header}\n\n{text}\n\n")  # the header is a step of its own, anchored to the window
    return f"{header}: {text}"


def _combine(ask_one: AskOne, duration: float, windows, question, parts, earlier, asked_at):
    history = "".join(f"Earlier question: {q}\nEarlier answer: {a}\n\n" for q, a in earlier)
    combine = COMBINE_QUESTION.format(duration=clock(duration), count=len(windows), question=question,
                                      parts="\n\n".join(parts), earlier=history)  # fmt: skip
    stream = ask_one(combine, None, asked_at)
    extra = {"audio_s": round(duration, 3), "windows": len(windows)}
    return (yield from relay(stream, lambda e: [Done({**e.stats, **extra})] if isinstance(e, Done) else [e]))


def _cancelled(asked_at: float) -> Generator[Event, None, None]:
    yield Done.cancelled(total_s=round(time.perf_counter() - asked_at, 4))
