"""Reasoning chains become clickable steps: anchors read, steps split, times made absolute."""

from __future__ import annotations

import pytest

from engine.events import Done, Step, TextDelta, ThinkDelta
from engine.reasoning import (
    Anchor,
    StepEvents,
    StepStream,
    find_anchors,
    parse_answer_anchors,
    parse_steps,
    shift_steps,
    steps_from_output,
)

# --- anchors ------------------------------------------------------------------------------

MOMENTS = [
    ("[01:02:03]", 3723.0, 3723.0),
    ("[12:05]", 725.0, 725.0),
    ("12:05.5", 725.5, 725.5),
    ("1:02:03", 3723.0, 3723.0),
    ("00:12–00:45", 12.0, 45.0),
    ("00:12-00:45", 12.0, 45.0),
    ("00:12 — 00:45", 12.0, 45.0),
    ("from 1:00 to 1:30", 60.0, 90.0),
    ("0:45 until 1:10", 45.0, 70.0),
    ("(12.5 s – 20 s)", 12.5, 20.0),
    ("[00:12 - 00:45]", 12.0, 45.0),
    ("[00:12] – [00:45]", 12.0, 45.0),
    ("12.5s", 12.5, 12.5),
    ("12 s", 12.0, 12.0),
    ("83 seconds", 83.0, 83.0),
    ("at 12 sec", 12.0, 12.0),
    ("1 min 5 s", 65.0, 65.0),
    ("1m05s", 65.0, 65.0),
    ("1h2m3s", 3723.0, 3723.0),
    ("2 minutes and 5 seconds", 125.0, 125.0),
    ("at 2 minutes", 120.0, 120.0),
    ("at 2:05", 125.0, 125.0),
    ("around 01:02", 62.0, 62.0),
    ("between 0:10 and 0:20", 10.0, 20.0),
    ("between 10 and 20 seconds", 10.0, 20.0),
    ("12.5–20 s", 12.5, 20.0),
    ("1-2 min", 60.0, 120.0),
    ("1:00 to 90 s", 60.0, 90.0),
    ("from 1:30 to 1:00", 60.0, 90.0),  # written backwards: the range is put right
    ("the 12-second mark", 12.0, 12.0),
    ("at the 1-minute mark", 60.0, 60.0),
    ("after 10 seconds, a bell", 10.0, 10.0),
    ("at 3:10", 190.0, 190.0),  # a colon pair with two-digit seconds reads as mm:ss
    ("At 0:05 he says hello", 5.0, 5.0),
    ("At 0:05 a man speaks", 5.0, 5.0),
    # The last misses (issue 15): minutes with bare seconds, a unit before its number, timestamps.
    ("at 2 min 30", 150.0, 150.0),
    ("at 1 minute 5, a dog barks", 65.0, 65.0),
    ("at 2 min 05", 125.0, 125.0),
    ("at 2 min. 30 s.", 150.0, 150.0),
    ("at minute 2", 120.0, 120.0),
    ("at minute 2.5", 150.0, 150.0),
    ("Minute 3: a dog barks", 180.0, 180.0),
    ("[minute 4]", 240.0, 240.0),
    ("around second 12", 12.0, 12.0),
    ("at sec 45", 45.0, 45.0),
    ("from minute 2 to minute 3", 120.0, 180.0),
    ("at the minute 2 mark", 120.0, 120.0),
    ("timestamp 12.5", 12.5, 12.5),
    ("at t = 12", 12.0, 12.0),
]


@pytest.mark.parametrize(("text", "start_s", "end_s"), MOMENTS)
def test_anchor_forms(text: str, start_s: float, end_s: float):
    anchors = find_anchors(text)
    assert [(a.start_s, a.end_s) for a in anchors] == [(start_s, end_s)]


NOT_MOMENTS = [
    "3 speakers",
    "in 2024",
    "v2.1",
    "version 3.5",
    "at 10:30 am",
    "at 10:30 p.m.",
    "at 9:00 o'clock",
    "a meeting at 14:30 UTC",
    "a 5-minute talk",
    "a 12 second pause",
    "it lasted 12 seconds",
    "for 30 seconds",
    "takes about 10 s",
    "the first 10 seconds",
    "every 2 seconds",
    "within 5 s",
    "over 30 seconds",
    "more than 2 minutes",
    "12 seconds long",
    "10 seconds later",
    "5 seconds of silence",
    "a 10-20 second clip",
    "3:1 win",
    "16:9",
    "50%",
    "440 Hz",
    "120 BPM",
    "200 ms",
    "5 m away",
    "2 h",
    "12.5",
    "1e309 s",
    "99999999:99",
    "1234567 s",
    "x12s",
    "1:02:03:04",
    "the second 2 beeps",
    "a minute 5 people",
    "every minute 2 beeps",
    "for minute 2",
    "it lasted 2 min 30.",
    "5'11\"",  # feet and inches, not 5 min 11 s
    "",
]


@pytest.mark.parametrize("text", NOT_MOMENTS)
def test_not_an_anchor(text: str):
    assert find_anchors(text) == []


def test_find_anchors_lists_every_time_with_its_span():
    text = "The dog barks at 0:05, again at [00:12 - 00:15] and stops for 3 s."
    anchors = find_anchors(text)
    assert anchors == [Anchor(5.0, 5.0, 17, 21), Anchor(12.0, 15.0, 33, 46)]
    assert [text[a.char_start : a.char_end] for a in anchors] == ["0:05", "00:12 - 00:15"]


def test_find_anchors_offset():
    assert find_anchors("at 0:05", offset_s=600) == [Anchor(605.0, 605.0, 3, 7)]


def test_seconds_left_bare_after_minutes_must_end_there():
    anchors = find_anchors("at 2 min 30 people left, and at 1 min 75")
    assert [(a.start_s, a.end_s) for a in anchors] == [(120.0, 120.0), (60.0, 60.0)]


def test_two_separate_moments_joined_by_and_are_not_a_range():
    anchors = find_anchors("at 0:10 and 0:20")
    assert [(a.start_s, a.end_s) for a in anchors] == [(10.0, 10.0), (20.0, 20.0)]


# --- splitting ----------------------------------------------------------------------------


def texts(text: str, **kwargs) -> list[str]:
    return [s.text for s in parse_steps(text, **kwargs)]


def test_numbered_list():
    assert texts("1. Listen at 0:05.\n2) A bell at 0:09.\n(3) Done.") == [
        "Listen at 0:05.",
        "A bell at 0:09.",
        "Done.",
    ]


def test_bulleted_list():
    assert texts("- one\n* two\n• three\n+ four") == ["one", "two", "three", "four"]


def test_list_item_keeps_its_continuation_lines():
    assert texts("1. A car passes\n   at 0:10.\n2. Then quiet.") == [
        "A car passes\n   at 0:10.",
        "Then quiet.",
    ]


def test_lead_in_before_a_list_is_its_own_step():
    assert texts("Key moments:\n- 0:05 dog\n- 0:10 car") == ["Key moments:", "0:05 dog", "0:10 car"]


def test_step_headings():
    text = "Step 1: Find the dog at 0:05.\nStep 2: Find the car at 0:10.\n**Step 3:** Compare."
    steps = parse_steps(text)
    assert [s.text for s in steps] == ["Find the dog at 0:05.", "Find the car at 0:10.", "Compare."]
    assert [s.start_s for s in steps] == [5.0, 10.0, None]


def test_title_heading_takes_the_paragraph_below():
    text = "### Step 1: Sounds\n\nA dog barks at 0:05.\n\n### Step 2\n\nCompare them.\n\nSo: B."
    assert texts(text) == ["Sounds\n\nA dog barks at 0:05.", "Compare them.", "So: B."]


def test_heading_with_inline_text_ends_at_a_blank_line():
    assert texts("Step 1: A dog at 0:05.\n\nSo the answer is B.") == ["A dog at 0:05.", "So the answer is B."]


def test_paragraphs():
    text = "First I listen to the clip.\nIt is calm.\n\nA dog barks at 0:05. It stops.\n\n---\n\nSo: a dog."
    assert texts(text) == [
        "First I listen to the clip.\nIt is calm.",
        "A dog barks at 0:05. It stops.",
        "So: a dog.",
    ]


def test_sentences_citing_times_split_a_paragraph():
    text = (
        "Let me listen. At [00:03] a man speaks. He is calm. At [00:12] a woman, e.g. his wife, laughs! Ok?"
    )
    steps = parse_steps(text)
    assert [s.text for s in steps] == [
        "Let me listen. At [00:03] a man speaks. He is calm.",
        "At [00:12] a woman, e.g. his wife, laughs! Ok?",
    ]
    assert [s.start_s for s in steps] == [3.0, 12.0]


def test_lines_of_timestamps_are_steps():
    text = "[00:01] A door opens.\n[00:04] Footsteps\n[00:09] Silence"
    assert [s.start_s for s in parse_steps(text)] == [1.0, 4.0, 9.0]


def test_decimals_and_versions_do_not_end_sentences():
    assert texts("At 12.5 s the v2.1 synth plays. At 20 s it stops.") == [
        "At 12.5 s the v2.1 synth plays.",
        "At 20 s it stops.",
    ]


def test_step_anchor_is_the_first_time_it_cites():
    (step,) = parse_steps("- The dog barks at 0:05 and again at 0:30.")
    assert (step.start_s, step.end_s) == (5.0, 5.0)
    assert len(find_anchors(step.text)) == 2


def test_unanchored_step_has_no_times():
    (step,) = parse_steps("Nothing to hear here.")
    assert (step.start_s, step.end_s, step.past_end) == (None, None, False)


def test_empty_items_and_blank_text_give_no_steps():
    assert parse_steps("") == []
    assert parse_steps("  \n\n \t") == []
    assert texts("1.\n2. real") == ["real"]


def test_indices_count_up():
    assert [s.index for s in parse_steps("- a\n- b\n\nc")] == [0, 1, 2]


def test_spans_index_into_the_source():
    text = "  Intro.\n\n1. Dog at 0:05,\n   barks.\n- Car [00:10–00:12]\n\nStep 3: done at 1:00.  \n"
    steps = parse_steps(text)
    assert len(steps) == 4
    for step in steps:
        assert text[step.char_start : step.char_end] == step.text
        assert step.source == "reasoning"


def test_past_end_is_flagged_and_kept():
    steps = parse_steps("- at 0:05\n- at 0:30\n- at 0:31\n- 0:20 to 0:45", audio_duration=29.4)
    assert [s.past_end for s in steps] == [False, False, True, True]
    assert steps[2].start_s == 31.0


def test_without_a_duration_nothing_is_past_end():
    assert not parse_steps("at 9:59:59")[0].past_end


def test_answer_anchors():
    answer = "The bell rings at 0:07.\n\nIt is a church bell. A second bell answers at [00:15]."
    steps = parse_steps(answer, source="answer")
    assert {s.source for s in steps} == {"answer"}
    anchored = parse_answer_anchors(answer, audio_duration=10, first_index=4)
    assert [(s.index, s.start_s, s.past_end) for s in anchored] == [(4, 7.0, False), (5, 15.0, True)]
    assert answer[anchored[1].char_start : anchored[1].char_end] == anchored[1].text


def test_shift_steps_makes_times_absolute():
    steps = parse_steps("- at 0:05\n- none\n- 0:10 to 0:20")
    shifted = shift_steps(steps, 600.0)
    assert [(s.start_s, s.end_s) for s in shifted] == [(605.0, 605.0), (None, None), (610.0, 620.0)]
    assert [s.text for s in shifted] == [s.text for s in steps]
    assert shift_steps(steps, 0) == steps


# --- streaming ----------------------------------------------------------------------------


def test_stream_returns_a_step_once_the_next_one_starts():
    stream = StepStream()
    assert stream.feed("1. A dog at 0:") == []
    assert stream.feed("05.\n") == []
    (first,) = stream.feed("2. A car")
    assert (first.text, first.start_s) == ("A dog at 0:05.", 5.0)
    (second,) = stream.finish()
    assert second.text == "A car"


def test_stream_emits_prose_steps_mid_line():
    stream = StepStream()
    out = stream.feed("At 0:05 a dog barks. It stops. At 0:09 a car passes. ")
    assert [s.text for s in out] == ["At 0:05 a dog barks. It stops."]


def test_stream_matches_whole_parse_one_character_at_a_time():
    text = (
        "Let me think.\n\n1. Dog at [00:05],\n   loud.\n2) Car 0:10–0:12\n\n"
        "### Step 3\n\nAt 1:00 a bell. At 1:05 another."
    )
    stream = StepStream(audio_duration=62)
    steps = [s for ch in text for s in stream.feed(ch)] + stream.finish()
    assert steps == parse_steps(text, audio_duration=62)


def test_feed_after_finish_is_an_error():
    stream = StepStream()
    stream.finish()
    with pytest.raises(RuntimeError):
        stream.feed("x")


# --- event wiring -------------------------------------------------------------------------


def test_step_events_from_think_and_text_deltas():
    tracker = StepEvents(audio_duration=8.0, offset_s=100.0)
    events = [
        ThinkDelta("1. A dog at 0:"),
        ThinkDelta("05.\n2. A car at 0:09."),
        Done(),  # other events pass through without steps
        TextDelta("It is a dog (0:05). "),
        TextDelta("Nothing else."),
    ]
    steps = [s for e in events for s in tracker.on_event(e)] + tracker.finish()
    assert [(s.index, s.source, s.start_s, s.past_end, s.text) for s in steps] == [
        (0, "reasoning", 105.0, False, "A dog at 0:05."),
        (1, "reasoning", 109.0, True, "A car at 0:09."),
        (2, "answer", 105.0, False, "It is a dog (0:05). Nothing else."),
    ]
    assert all(isinstance(s, Step) for s in steps)


def test_step_event_spans_index_into_each_source_text():
    output = "<think>Intro.\n- at 0:01\n</think>Answer: at 0:02. Then <think>- at 0:03</think> at 0:04."
    steps = steps_from_output(output)
    reasoning = "Intro.\n- at 0:01\n- at 0:03"
    answer = "Answer: at 0:02. Then  at 0:04."
    for step in steps:
        source = reasoning if step.source == "reasoning" else answer
        assert source[step.char_start : step.char_end] == step.text
    assert [s.start_s for s in steps] == [None, 1.0, 2.0, 3.0, 4.0]
    assert [s.index for s in steps] == [0, 1, 2, 3, 4]


def test_steps_from_output_starting_inside_think():
    steps = steps_from_output("At 0:03 a clap.</think>A clap.", in_think=True)
    assert [(s.source, s.start_s) for s in steps] == [("reasoning", 3.0)]
