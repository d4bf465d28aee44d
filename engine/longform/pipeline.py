"""Answer about a recording longer than the model hears at once.

Each window is asked the question on its own; its answer, with times made absolute, is shown
as reasoning ("Part 2 of 6, 29:58–59:56: …"); a final text-only pass combines the parts
into one answer. Every time that reaches the user counts from the start of the recording.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import numpy as np

from engine.events import Done, Event, Finish, Progress, Stage, ThinkDelta
from engine.inference.conversation import Conversation
from engine.inference.generation import GenerationOptions, Outcome, stream_answer
from engine.inference.prompt import full_prompt
from engine.longform.planner import SAMPLE_RATE, Window, plan_windows
from engine.longform.timecode import absolute_times
from engine.streams import relay, with_progress
from engine.timefmt import clock

if TYPE_CHECKING:
    from engine.model.loading import LoadedModel

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
    loaded: LoadedModel,
    samples: np.ndarray,
    question: str,
    options: GenerationOptions,
    should_cancel: Callable[[], bool],
    asked_at: float,
    earlier: list[tuple[str, str]] = (),
) -> Generator[Event, None, Outcome]:
    """Windows, then the combining pass; ``earlier`` holds the conversation's (question, answer) turns."""
    windows = yield from with_progress(Stage.PLAN_WINDOWS, _plan, samples, loaded.max_audio_s)
    parts: list[str] = []
    for window in windows:
        yield Progress(Stage.WINDOWS, float(window.index), float(len(windows)))
        if should_cancel():
            return (yield from _cancelled(asked_at))
        part = yield from _ask_window(loaded, samples, window, len(windows), question, options, should_cancel)
        if part is None:
            return (yield from _cancelled(asked_at))
        parts.append(part)
    yield Progress(Stage.WINDOWS, float(len(windows)), float(len(windows)))
    return (
        yield from _combine(
            loaded, samples, windows, question, parts, earlier, options, should_cancel, asked_at
        )
    )


def _plan(samples: np.ndarray, max_window_s: float, progress) -> list[Window]:
    return plan_windows(samples, max_window_s)


def _ask_window(loaded, samples, window: Window, count: int, question, options, should_cancel):
    """The window's answer with absolute times, shown as reasoning; None if cancelled."""
    clip = samples[int(window.start_s * SAMPLE_RATE) : int(window.end_s * SAMPLE_RATE)]
    conversation = Conversation()
    asked = WINDOW_QUESTION.format(question=question, number=window.index + 1, count=count,
                                   start=clock(window.start_s), end=clock(window.end_s))  # fmt: skip
    conversation.ask(asked, clip)
    stream = stream_answer(loaded, full_prompt(loaded, conversation), options, should_cancel)
    outcome = yield from relay(stream, lambda e: [])  # its text is shown rewritten, below
    if outcome.finish == Finish.CANCELLED:
        return None
    text = absolute_times(outcome.answer_text.strip(), window.start_s)
    header = f"Part {window.index + 1} of {count} ({clock(window.start_s)}–{clock(window.end_s)})"
    yield ThinkDelta(f"{header}\n\n{text}\n\n")  # the header is a step of its own, anchored to the window
    return f"{header}: {text}"


def _combine(loaded, samples, windows, question, parts, earlier, options, should_cancel, asked_at):
    duration = len(samples) / SAMPLE_RATE
    history = "".join(f"Earlier question: {q}\nEarlier answer: {a}\n\n" for q, a in earlier)
    conversation = Conversation()
    conversation.ask(COMBINE_QUESTION.format(duration=clock(duration), count=len(windows), question=question,
                                             parts="\n\n".join(parts), earlier=history))  # fmt: skip
    prompt = full_prompt(loaded, conversation)
    stream = stream_answer(loaded, prompt, options, should_cancel, asked_at)
    extra = {"audio_s": round(duration, 3), "windows": len(windows)}
    return (yield from relay(stream, lambda e: [Done({**e.stats, **extra})] if isinstance(e, Done) else [e]))


def _cancelled(asked_at: float) -> Generator[Event, None, Outcome]:
    yield Done.cancelled(total_s=round(time.perf_counter() - asked_at, 4))
    return Outcome(None, "", "", Finish.CANCELLED)
