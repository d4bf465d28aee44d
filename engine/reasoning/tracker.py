"""Wire step parsing into the engine's event stream.

In the engine's loop::

    steps = StepEvents(audio_duration)
    for event in events:
        yield event
        yield from steps.on_event(event)
    yield from steps.finish()

Reasoning steps come from ``ThinkDelta`` text, answer steps from ``TextDelta`` text; only answer
steps that cite a time are emitted (the answer itself is shown in the chat; these make its
timestamps clickable). Indices run on across both. Spans index into the concatenation of all
the text of their source (all reasoning text, or all answer text) seen in the turn.
"""

from __future__ import annotations

from dataclasses import replace

from engine.events import Done, Event, Step, TextDelta, ThinkDelta
from engine.reasoning.steps import shift_steps
from engine.reasoning.stream import StepStream, parse_steps
from engine.reasoning.thinking import ThinkSplitter
from engine.streams import relay


class StepEvents:
    """Think/answer deltas in, ``Step`` events out, times absolute (``offset_s`` added)."""

    def __init__(self, audio_duration: float | None = None, *, offset_s: float = 0.0):
        self.audio_duration = audio_duration  # of the audio the model heard (the window)
        self.offset_s = offset_s  # where that audio starts in the recording
        self._stream: StepStream | None = None
        self._fed = {"reasoning": 0, "answer": 0}  # characters of each source seen so far
        self._stream_base = 0  # where the current stream starts in its source's text
        self._next_index = 0

    def on_event(self, event: Event) -> list[Step]:
        if isinstance(event, ThinkDelta):
            source = "reasoning"
        elif isinstance(event, TextDelta):
            source = "answer"
        else:
            return []
        out: list[Step] = []
        if self._stream is None or self._stream.source != source:
            out += self._finish_stream()  # the reasoning is over once the answer begins
            self._stream = StepStream(self.audio_duration, source)
            self._stream_base = self._fed[source]
        self._fed[source] += len(event.text)
        return out + self._publish(self._stream.feed(event.text))

    def finish(self) -> list[Step]:
        return self._finish_stream()

    def _finish_stream(self) -> list[Step]:
        if self._stream is None:
            return []
        steps = self._publish(self._stream.finish())
        self._stream = None
        return steps

    def _publish(self, steps: list[Step]) -> list[Step]:
        out: list[Step] = []
        for step in steps:
            if step.source == "answer" and step.start_s is None:
                continue
            base = self._stream_base
            out.append(
                replace(
                    step,
                    index=self._next_index,
                    char_start=step.char_start + base,
                    char_end=step.char_end + base,
                )
            )
            self._next_index += 1
        return shift_steps(out, self.offset_s)


def parse_answer_anchors(
    text: str, audio_duration: float | None = None, *, first_index: int = 0
) -> list[Step]:
    """The answer's steps that cite a time, numbered from ``first_index``."""
    steps = parse_steps(text, audio_duration=audio_duration, source="answer")
    anchored = [s for s in steps if s.start_s is not None]
    return [replace(s, index=first_index + i) for i, s in enumerate(anchored)]


def steps_from_output(
    text: str, *, audio_duration: float | None = None, offset_s: float = 0.0, in_think: bool = False
) -> list[Step]:
    """Steps of a whole model output, ``<think>`` tags included (e.g. one loaded from history)."""
    splitter = ThinkSplitter(in_think=in_think)
    tracker = StepEvents(audio_duration, offset_s=offset_s)
    steps: list[Step] = []
    for event in [*splitter.feed(text), *splitter.flush()]:
        steps += tracker.on_event(event)
    return steps + tracker.finish()


def with_steps(stream, audio_s: float):
    """Pass an answer's events on, adding a ``Step`` event as each reasoning step completes."""
    steps = StepEvents(audio_s or None)
    return relay(stream, lambda e: [*steps.finish(), e] if isinstance(e, Done) else [e, *steps.on_event(e)])
