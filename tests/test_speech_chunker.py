"""The sentence chunker: streamed answer text in, speakable pieces out as soon as they complete."""

from __future__ import annotations

import pytest

from engine.events import Done, TextDelta, ThinkDelta
from engine.speech.chunker import ChunkerOptions, SentenceChunker, sentences_from_events
from engine.speech.spoken import CODE_NOTICE


def stream(text: str, step: int = 3, options: ChunkerOptions | None = None) -> list[tuple[int | str, str]]:
    """Feed ``text`` ``step`` characters at a time; (characters fed when a piece came out, piece)."""
    chunker = SentenceChunker(options)
    out: list[tuple[int | str, str]] = []
    for start in range(0, len(text), step):
        out += [(start + step, piece) for piece in chunker.feed(text[start : start + step])]
    return out + [("end", piece) for piece in chunker.flush()]


def pieces(text: str, step: int = 3) -> list[str]:
    return [piece for _, piece in stream(text, step)]


@pytest.mark.parametrize("step", [1, 2, 5, 1000])
def test_sentences_come_out_whole_whatever_the_delta_size(step):
    text = "The dog barks twice. Then a car passes! Is that all? Yes."
    assert pieces(text, step) == ["The dog barks twice.", "Then a car passes!", "Is that all?", "Yes."]


def test_a_sentence_is_emitted_as_soon_as_the_next_character_confirms_it():
    out = stream("It rains. The wind blows hard.", step=1)
    at, first = out[0]
    assert first == "It rains."
    assert at == len("It rains. ")  # the space after the period, not the end of the answer


def test_first_piece_may_be_a_long_enough_clause_later_ones_are_sentences():
    text = "At [01:05] a dog barks near the microphone, then it stops, and later a door closes. Fine, done."
    assert pieces(text) == [
        "At [01:05] a dog barks near the microphone,",
        "then it stops, and later a door closes.",
        "Fine, done.",
    ]


def test_a_short_first_clause_waits_for_more():
    assert pieces("Yes, it does. Sure.")[0] == "Yes, it does."


def test_decimals_times_abbreviations_and_list_numbers_do_not_end_sentences():
    text = "Listen. The tone is 3.5 kHz at 12:05, e.g. the second one. Mr. Smith agrees.\n1. First item.\n2. Second item."
    assert pieces(text) == [
        "Listen.",
        "The tone is 3.5 kHz at 12:05, e.g. the second one.",
        "Mr. Smith agrees.",
        "1. First item.",
        "2. Second item.",
    ]


def test_a_final_period_waits_for_the_next_delta():
    chunker = SentenceChunker()
    assert chunker.feed("The value is 3.") == []
    assert chunker.feed("5 volts. Next") == ["The value is 3.5 volts."]
    assert chunker.flush() == ["Next"]


def test_list_items_and_paragraphs_are_pieces_of_their_own():
    assert pieces("Two sounds:\n- a bell\n- a dog\n\nThat is all") == [
        "Two sounds:",
        "- a bell",
        "- a dog",
        "That is all",
    ]


def test_a_very_long_sentence_is_cut_at_a_clause():
    long = ", ".join(["the sound rises and falls again"] * 12) + "."
    out = pieces(long, step=7)
    assert len(out) > 1
    assert all(len(p) <= 2 * ChunkerOptions().max_chars for p in out)
    assert " ".join(out) == long


def test_code_blocks_become_one_notice():
    text = "Run this:\n```python\nprint('a. b. c.')\n```\nThen listen."
    assert pieces(text, step=4) == ["Run this:", CODE_NOTICE, "Then listen."]


def test_think_text_is_never_spoken():
    events = [
        ThinkDelta("The bark is at [00:03]. "),
        ThinkDelta("So the answer is a dog. "),
        TextDelta("A dog "),
        TextDelta("barks. "),
        ThinkDelta("Should I add more? "),
        TextDelta("Twice."),
        Done({}),
    ]
    spoken = list(sentences_from_events(events))
    assert spoken == ["A dog barks.", "Twice."]
    assert not any("bark is at" in s or "more" in s for s in spoken)


def test_literal_think_tags_in_answer_text_are_dropped_even_when_split():
    assert pieces("Sure. <thi" + "nk>secret reasoning.</th" + "ink>Visible answer.", step=4) == [
        "Sure.",
        "Visible answer.",
    ]


def test_nothing_speakable_gives_no_pieces():
    assert pieces("  \n\n ** -- \n") == []


def test_a_first_sentence_without_any_boundary_is_cut_at_a_word_once_long():
    text = "the recording has " + "a very long opening sentence without any punctuation " * 3
    first = stream(text, step=4)[0]
    assert first[0] != "end" and first[1].startswith("the recording has")
    assert len(first[1]) <= ChunkerOptions().first_max_chars


OPENINGS = [
    "The recording starts with a door closing and then a dog barks twice near the microphone.",
    "At [00:12] the first speaker, a woman with a calm voice, introduces the topic of the meeting.",
    "**Summary:** two people discuss the budget for next year and agree on the final numbers.",
    "Three speakers take part in this conversation, and the host speaks for most of the time.",
    "The meeting lasts 1:02:03 and the background tone is 3.5 kHz throughout the whole recording.",
    "In 1998 the band recorded this song live in a small club with about 200 people watching.",
]


@pytest.mark.parametrize("answer", OPENINGS)
def test_the_first_piece_of_every_answer_is_short(answer):
    """The first piece decides when Heron starts talking: a clause or a few words, out before the end."""
    out = stream(answer + " And more follows here.", step=3)
    at, first = out[0]
    assert at != "end" and len(first) <= ChunkerOptions().first_max_chars, first
    assert len(first.split()) >= 2


@pytest.mark.parametrize(
    ("answer", "together"),
    [
        (OPENINGS[4], "3.5 kHz"),
        (OPENINGS[5], "In 1998"),
        ("It weighs about 3 kg and costs roughly 25 dollars in all.", "3 kg"),
    ],
)
def test_a_first_piece_cut_between_words_never_parts_a_number_from_its_word(answer, together):
    assert any(together in piece for piece in pieces(answer))
