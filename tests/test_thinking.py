"""Reasoning and answer separate correctly however the stream is chunked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.events import TextDelta, ThinkDelta
from engine.reasoning.thinking import ThinkSplitter


def split(chunks: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    events = [e for chunk in chunks for e in splitter.feed(chunk)] + list(splitter.flush())
    think = "".join(e.text for e in events if isinstance(e, ThinkDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    return think, text


def test_whole_text():
    assert split(["<think>It rings at [00:03].</think>A bell."]) == ("It rings at [00:03].", "A bell.")


def test_tags_split_across_chunks():
    assert split(["<th", "ink>why", "</thi", "nk>", "so"]) == ("why", "so")


def test_no_reasoning_is_all_answer():
    assert split(["Just ", "an answer <b>bold</b>"]) == ("", "Just an answer <b>bold</b>")


def test_unclosed_reasoning_stays_reasoning():
    assert split(["<think>still thinking"]) == ("still thinking", "")


def test_a_lone_angle_bracket_at_the_end_is_flushed_as_text():
    assert split(["x <", "th"]) == ("", "x <th")


pieces = st.lists(st.sampled_from(["<think>", "</think>", "<", "</", "think", ">", "a", " b", "[00:01]"]))


@given(pieces, st.data())
def test_any_chunking_gives_the_same_split(parts: list[str], data):
    text = "".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert split(chunks) == split([text])
