"""Properties of step parsing: it never fails, spans are exact, and streaming equals whole parsing."""

from __future__ import annotations

import math
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.events import Step
from engine.reasoning import (
    StepEvents,
    StepStream,
    buffer,
    find_anchors,
    parse_steps,
    shift_steps,
    steps_from_output,
)
from engine.reasoning.thinking import ThinkSplitter

# Example counts keep the file near 10 s on 2 cores; a run with ten times as many passed too.
FAST = settings(max_examples=100, deadline=None)
THOROUGH = settings(max_examples=200, deadline=None)
SLOW = settings(max_examples=60, deadline=None)  # for tests that feed long text in tiny pieces

# Text biased toward what the parser cares about, with any unicode mixed in.
TRICKY = [
    *"0123456789:.,-–— smhS[]()\n\n\t*#•_!?…\"'",
    "Step ",
    "1. ",
    "\r\n",
    "ſtep",
    "e.g. ",
    " to ",
    " and ",
]
arbitrary_text = st.lists(st.one_of(st.sampled_from(TRICKY), st.characters()), max_size=120).map("".join)

TIMES = [
    "[00:12]",
    "00:12–00:45",
    "at 1:05",
    "12.5 s",
    "83 seconds",
    "1m05s",
    "1 min 5 s",
    "between 0:10 and 0:20",
    "from 1:00 to 1:30",
    "[01:02:03]",
    "(12.5 s – 20 s)",
    "around 00:29",
]
FILLER = [
    "a dog barks",
    "the speaker pauses",
    "e.g. a bell",
    "for 30 seconds",
    "3 speakers",
    "in 2024",
    "v2.1",
    "440 Hz",
    "a 5-minute talk",
    "at 10:30 am",
    "the answer is B",
]
MARKERS = [
    "",
    "",
    "1. ",
    "2) ",
    "(3) ",
    "- ",
    "* ",
    "• ",
    "Step 4: ",
    "**Step 5:** ",
    "### Step 6\n",
    "## Notes\n\n",
]
SEPARATORS = ["\n", "\n\n", " ", "\n   ", "\r\n", "\n---\n", "\n\n\n"]

sentence = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(st.sampled_from(TIMES + FILLER), min_size=1, max_size=4),
    st.sampled_from([".", "!", "?", "…", "", ":", ".)"]),
)
step_text = st.builds(
    lambda marker, sentences: marker + " ".join(sentences),
    st.sampled_from(MARKERS),
    st.lists(sentence, min_size=1, max_size=4),
)
chain = st.lists(st.tuples(step_text, st.sampled_from(SEPARATORS)), max_size=12).map(
    lambda parts: "".join(a + b for a, b in parts)
)
durations = st.one_of(st.none(), st.floats(0, 4000), st.just(math.inf), st.just(math.nan))


def chunked(data: st.DataObject, text: str) -> list[str]:
    """``text`` cut at random places, many pieces of one to three characters."""
    sizes = data.draw(st.lists(st.integers(1, 3) | st.integers(1, 40), min_size=1, max_size=40))
    chunks, at, i = [], 0, 0
    while at < len(text):
        size = sizes[i % len(sizes)]
        chunks.append(text[at : at + size])
        at, i = at + size, i + 1
    return chunks


def streamed(chunks: list[str], audio_duration: float | None) -> list[Step]:
    stream = StepStream(audio_duration)
    return [s for chunk in chunks for s in stream.feed(chunk)] + stream.finish()


def check_steps(text: str, steps: list[Step]) -> None:
    assert [s.index for s in steps] == list(range(len(steps)))
    end = 0
    for step in steps:
        assert step.text and step.text == step.text.strip()
        assert text[step.char_start : step.char_end] == step.text
        assert step.char_start >= end
        end = step.char_end
        assert (step.start_s is None) == (step.end_s is None)
        if step.start_s is not None:
            assert math.isfinite(step.start_s) and 0 <= step.start_s <= step.end_s


@THOROUGH
@given(chain, st.data(), durations)
def test_streaming_equals_whole_for_chains(text: str, data: st.DataObject, duration: float | None):
    whole = parse_steps(text, audio_duration=duration)
    check_steps(text, whole)
    assert streamed(chunked(data, text), duration) == whole


@THOROUGH
@given(arbitrary_text, st.data())
def test_streaming_equals_whole_for_any_text(text: str, data: st.DataObject):
    whole = parse_steps(text, audio_duration=60)
    check_steps(text, whole)
    assert streamed(chunked(data, text), 60) == whole


@FAST
@given(st.one_of(chain, arbitrary_text), st.data(), st.integers(0, 12))
def test_streaming_equals_whole_when_old_text_is_moved_out_early(text: str, data: st.DataObject, after: int):
    """The buffer normally moves consumed text out after 8 KiB; here after a few characters."""
    whole = parse_steps(text)
    with mock.patch.object(buffer, "_RELEASE_AFTER", after):
        assert streamed(chunked(data, text), None) == whole


@SLOW
@given(chain)
def test_streaming_one_character_at_a_time(text: str):
    assert streamed(list(text), None) == parse_steps(text)


@FAST
@given(st.one_of(arbitrary_text, chain))
@example("1" * 5000 + ":59 " + "9" * 400 + " s")
@example("99999999:99 and 1e309 s and 9999999999999999999999 s")
@example("\u0663:\u0660\u0665 s")  # Arabic-Indic digits are not read as times
def test_anchors_are_sane(text: str):
    previous_end = 0
    for anchor in find_anchors(text):
        assert 0 <= previous_end <= anchor.char_start < anchor.char_end <= len(text)
        assert math.isfinite(anchor.start_s) and 0 <= anchor.start_s <= anchor.end_s
        previous_end = anchor.char_end


@given(arbitrary_text)
@example("99999999:99 and 1e309 s and 9999999999999999999999 s\n- 1e309 s")
@FAST
def test_parse_never_fails(text: str):
    check_steps(text, parse_steps(text, audio_duration=1.0, source="answer"))


@SLOW
@given(chain, durations)
def test_past_end_follows_the_rounded_up_duration(text: str, duration: float | None):
    for step in parse_steps(text, audio_duration=duration):
        known = duration is not None and math.isfinite(duration) and step.end_s is not None
        assert step.past_end == (known and step.end_s > math.ceil(duration))


@SLOW
@given(chain, st.floats(-1e6, 1e6))
def test_shift_moves_only_times(text: str, offset: float):
    steps = parse_steps(text)
    shifted = shift_steps(steps, offset)
    for before, after in zip(steps, shifted, strict=True):
        assert (after.text, after.char_start, after.index) == (before.text, before.char_start, before.index)
        if before.start_s is not None:
            assert math.isclose(after.start_s, before.start_s + offset, abs_tol=1e-6)


@SLOW
@given(chain, chain, st.data())
def test_step_events_streamed_equal_whole_output(think: str, answer: str, data: st.DataObject):
    output = f"<think>{think}</think>{answer}"
    splitter, tracker = ThinkSplitter(), StepEvents(audio_duration=40.0)
    steps: list[Step] = []
    for chunk in chunked(data, output):
        for event in splitter.feed(chunk):
            steps += tracker.on_event(event)
    for event in splitter.flush():
        steps += tracker.on_event(event)
    steps += tracker.finish()
    assert steps == steps_from_output(output, audio_duration=40.0)
    assert [s.index for s in steps] == list(range(len(steps)))
    for step in steps:
        source = think if step.source == "reasoning" else answer
        assert source[step.char_start : step.char_end] == step.text
