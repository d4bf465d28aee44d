"""Answer text in the words a person would say: timestamps, numbers, units, markdown, symbols."""

from __future__ import annotations

import pytest

from engine.speech import numbers
from engine.speech.spoken import CODE_NOTICE, clock_words, spoken_form, timestamp_words


@pytest.mark.parametrize(
    ("stamp", "words"),
    [
        ("01:05", "one minute five"),
        ("00:07", "seven seconds"),
        ("02:00", "two minutes"),
        ("1:02:03", "one hour two minutes three seconds"),
        ("00:00", "zero seconds"),
        ("00:01.5", "one point five seconds"),
    ],
)
def test_timestamp_words(stamp, words):
    assert timestamp_words(stamp) == words


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("At [01:05] a dog barks.", "At one minute five, a dog barks."),  # a pause after an opening time
        ("From [00:10 - 00:25] there is music.", "From ten seconds to twenty-five seconds, there is music."),
        ("Between [00:10] and [00:20] music.", "Between ten seconds and twenty seconds, music."),
        ("[00:12–00:18] Applause.", "twelve seconds to eighteen seconds, Applause."),
        ("The door slams at [00:07] and stops.", "The door slams at seven seconds and stops."),
        ("[00:10]-[00:25]: applause.", "ten seconds to twenty-five seconds: applause."),
        ("The meeting starts at 12:05.", "The meeting starts at twelve oh five."),
        ("It began at 3:00.", "It began at three o'clock."),
        ("Call at 3:30 pm.", "Call at three thirty p m."),
        ("Between 3 pm and 4 p.m. today.", "Between three p m and four p m today."),
        ("The laugh at 01:05 is loud.", "The laugh at one minute five is loud."),
        ("It ends at 1:02:03.", "It ends at one hour two minutes three seconds."),
    ],
)
def test_times(text, spoken):
    assert spoken_form(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("There were 1,234 birds.", "There were one thousand two hundred thirty-four birds."),
        ("It lasts 3.5 s.", "It lasts three point five seconds."),
        ("A 440 Hz tone at -12 dB.", "A four hundred forty hertz tone at minus twelve decibels."),
        ("Sampled at 48kHz.", "Sampled at forty-eight kilohertz."),
        ("It costs $3.50, or 50% less.", "It costs three dollars and fifty cents, or fifty percent less."),
        ("The 21st speaker.", "The twenty-first speaker."),
        ("In 1999 it rained.", "In nineteen ninety-nine it rained."),
        ("Between 10-20 people.", "Between ten and twenty people."),
        ("Pages 10-15.", "Pages ten to fifteen."),
        ("A $3.2 million budget.", "A three point two million dollars budget."),
        ("It costs $2.5.", "It costs two point five dollars."),
        ("About 1/2 of it.", "About one half of it."),
        ("Agent 007.", "Agent zero zero seven."),
        ("A 2x speedup.", "A two times speedup."),
        ("1 second", "one second"),
    ],
)
def test_numbers_and_units(text, spoken):
    assert spoken_form(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("**Answer:** a *dog* barks.", "Answer: a dog barks."),
        ("## Summary", "Summary."),
        ("- a bell rings", "a bell rings"),
        ("1. First point", "one, First point"),
        ("Use `ffmpeg` here.", "Use ffmpeg here."),
        ("See [the docs](https://example.org/a/b).", "See the docs."),
        ("Go to https://www.example.com/page.", "Go to example dot com."),
        ("See www.heron.dev for more.", "See heron dot dev for more."),
        ("Mail bob@example.org today.", "Mail bob at example dot org today."),
        ("Run x.py, e.g. twice.", "Run x.py, for example, twice."),
        ("| time | sound |", "time, sound"),
        ("> quoted words", "quoted words"),
        ("```\nprint(1)\n```", CODE_NOTICE),
    ],
)
def test_markdown(text, spoken):
    assert spoken_form(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Rain & wind.", "Rain and wind."),
        ("Quiet → loud.", "Quiet to loud."),
        ("It is ~5 s long.", "It is about five seconds long."),
        ("Bird vs. plane, i.e. a bird.", "Bird versus plane, that is, a bird."),
        ("Speech/music ratio.", "Speech or music ratio."),
        ("Great job 🎉!", "Great job!"),
        ("Dr. Who etc.", "Doctor Who et cetera."),
    ],
)
def test_symbols_and_abbreviations(text, spoken):
    assert spoken_form(text) == spoken


def test_nothing_to_say():
    assert spoken_form("---") == ""
    assert spoken_form("  ** ") == ""


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (101, "one hundred one"),
        (1_000_000, "one million"),
        (2_500_017, "two million five hundred thousand seventeen"),
        (-3, "minus three"),
    ],
)
def test_cardinals(n, words):
    assert numbers.cardinal(n) == words


@pytest.mark.parametrize(("n", "words"), [(1, "first"), (2, "second"), (12, "twelfth"), (20, "twentieth"),
                                          (23, "twenty-third"), (100, "one hundredth")])  # fmt: skip
def test_ordinals(n, words):
    assert numbers.ordinal(n) == words


def test_clock_words():
    assert clock_words(12, 5) == "twelve oh five"
    assert clock_words(9, 45, "pm") == "nine forty-five p m"
