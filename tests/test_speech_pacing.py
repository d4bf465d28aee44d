"""Keeping the speaker fed: a slow voice's text is cut so each part is made before the audio ahead runs out."""

from __future__ import annotations

import pytest

from engine.speech.pacing import MIN_PART_CHARS, Pacer, pacer_for

ANSWER = "At one minute five, a dog barks near the microphone, then it stops and a door closes."


def test_with_nothing_queued_the_first_part_is_a_clause():
    parts = Pacer(synth_s_per_char=0.005).split(ANSWER, ahead_s=0.0)
    assert parts[0] == "At one minute five,"
    assert " ".join(parts) == ANSWER


def test_without_a_clause_in_reach_the_first_part_is_a_few_words():
    text = "The recording starts with a door closing and then a dog barks"
    parts = Pacer(synth_s_per_char=0.005).split(text, ahead_s=0.0)
    assert len(parts) >= 2 and len(parts[0]) <= 0.12 / 0.005
    assert len(parts[0].split()) >= 2 and " ".join(parts) == text


def test_audio_queued_ahead_lets_the_text_go_whole():
    assert Pacer(synth_s_per_char=0.005).split(ANSWER, ahead_s=3.0) == [ANSWER]


def test_a_fast_voice_is_never_cut():
    assert Pacer(synth_s_per_char=0.0003).split(ANSWER, ahead_s=0.0) == [ANSWER]


@pytest.mark.parametrize("text", ["Yes, it does.", "Powowowowowowowowowowowowowowowow", "Sure."])
def test_short_or_unbroken_text_stays_whole(text):
    assert Pacer(synth_s_per_char=0.01).split(text, ahead_s=0.0) == [text]


def test_every_part_after_the_first_is_made_before_the_audio_ahead_ends():
    pacer = Pacer(synth_s_per_char=0.004, audio_s_per_char=0.065)
    text = " ".join([ANSWER] * 6)
    parts = pacer.split(text, ahead_s=0.0)
    ahead = 0.0
    for index, part in enumerate(parts):
        made = pacer.synth_s_per_char * len(part)
        if index:
            assert made < ahead or len(part) <= MIN_PART_CHARS * 4, (part, made, ahead)
        ahead = max(ahead - made, 0.0) + pacer.audio_s_per_char * len(part)
    assert " ".join(parts) == text


def test_the_pacer_learns_the_voice_and_is_kept_per_voice():
    pacer = Pacer(synth_s_per_char=0.005)
    for _ in range(20):
        pacer.observe(50, synth_s=0.05, audio_s=3.0)
    assert pacer.synth_s_per_char == pytest.approx(0.001, rel=0.01)
    assert pacer.audio_s_per_char == pytest.approx(0.06, rel=0.01)

    class Voice:
        pass

    one, two = Voice(), Voice()
    assert pacer_for(one) is pacer_for(one) and pacer_for(one) is not pacer_for(two)
