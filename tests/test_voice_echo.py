"""Echo cancellation on a simulated echo path (delay, gain, a short reverb), mixed with user speech.

Heron's own voice reaches the microphone 60 ms late, at 0.5 gain, with three early reflections
and a 50 ms diffuse tail (a laptop on a desk in a small room). The canceller must remove at
least 25 dB of it once converged, the turn detector must start no turn on the echo alone, and a
person talking over it must still be heard.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.speech.espeak import EspeakVoice
from engine.voice.barge import DOUBLE_TALK_FRAMES
from engine.voice.echo import FRAME, RATE, EchoCanceller, cancel_offline, erle_db
from engine.voice.vad import TurnDetector, VadOptions, load_vad_model
from tests.media import speech

HERON_SAYS = (
    "The recording starts with a door closing. At one minute five, a dog barks twice, then a car "
    "passes from left to right. Near the end someone laughs, and the last ten seconds are quiet."
)


def heron_voice() -> np.ndarray:
    import soxr

    voice = EspeakVoice()
    return soxr.resample(voice.synthesize(HERON_SAYS), voice.sample_rate, RATE).astype(np.float32)


def room(far: np.ndarray, delay_ms: float = 60, gain: float = 0.5, reverb_ms: float = 50, seed: int = 1):
    """What the microphone hears of the speaker: delayed, quieter, with a short reverb."""
    rng = np.random.default_rng(seed)
    taps = round(reverb_ms * RATE / 1000)
    response = rng.standard_normal(taps) * np.exp(-np.arange(taps) / (taps / 5)) * 0.1  # diffuse tail
    for ms, level in ((0, 1.0), (7, 0.4), (13, -0.25), (23, 0.15)):  # direct sound, early reflections
        response[round(ms * RATE / 1000)] += level
    response *= gain
    delayed = np.concatenate([np.zeros(round(delay_ms * RATE / 1000)), far])[: len(far)]
    noise = np.random.default_rng(seed + 1).standard_normal(len(far)) * 10 ** (-70 / 20)
    return (np.convolve(delayed, response)[: len(far)] + noise).astype(np.float32)


def turn_events(audio: np.ndarray, model) -> list:
    model.reset_states()
    detector = TurnDetector(VadOptions(), model=model)
    events = []
    for start in range(0, len(audio), 512):
        events += detector.feed(audio[start : start + 512])
    return events


@pytest.fixture(scope="module")
def far() -> np.ndarray:
    return heron_voice()


@pytest.fixture(scope="module")
def vad_model():
    return load_vad_model()


def test_erle_at_least_25_db_once_converged(far):
    mic = room(far)
    cleaned = cancel_offline(far, mic, EchoCanceller(gate_db=None))  # the canceller alone
    converged = len(far) // 3
    erle = erle_db(mic[converged:], cleaned[converged:])
    assert erle >= 25, f"ERLE {erle:.1f} dB"


@pytest.mark.parametrize("delay_ms", [20, 150, 300])
def test_erle_holds_across_path_delays(far, delay_ms):
    mic = room(far, delay_ms=delay_ms, seed=3)
    cleaned = cancel_offline(far, mic, EchoCanceller(gate_db=None))
    converged = len(far) // 3
    assert erle_db(mic[converged:], cleaned[converged:]) >= 25


def test_echo_alone_starts_no_turn(far, vad_model):
    mic = room(far)
    assert "started" in [e.kind for e in turn_events(mic, vad_model)]  # without cancelling, it would
    cleaned = cancel_offline(far, mic)
    assert "started" not in [e.kind for e in turn_events(cleaned, vad_model)]


def test_user_speech_over_the_echo_is_still_detected(far, vad_model):
    user = speech("Wait, what was that noise at the start?")
    begins = round(4.0 * RATE)  # the user talks over Heron, four seconds in
    mic = room(far)
    mic[begins : begins + len(user)] += user[: len(mic) - begins] * 0.8
    cleaned = cancel_offline(far, mic)
    started = [e for e in turn_events(cleaned, vad_model) if e.kind == "started"]
    assert started, "the user's speech was not detected"
    user_onset = (begins + np.nonzero(np.abs(user) > 0.02)[0][0]) / RATE
    assert user_onset - 0.1 <= started[0].at_s <= user_onset + 0.6
    # The user's voice comes through the canceller (not cancelled as if it were echo).
    span = slice(begins, begins + len(user))
    assert erle_db(mic[span], cleaned[span]) < 10


def test_disabled_canceller_passes_the_microphone_through(far):
    mic = room(far)[:RATE]
    canceller = EchoCanceller(enabled=False)
    assert np.array_equal(canceller.process(mic, 1.0), mic)


def run_flags(far: np.ndarray, mic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    canceller = EchoCanceller()
    cleaned = cancel_offline(far, mic, canceller)
    return np.array(canceller.take_near_end()), cleaned


def test_talking_over_the_speaker_is_flagged_even_where_the_canceller_mutes_it(far):
    """With no echo at all (a headset), AEC3 still suppresses a voice while the far end plays;
    the double-talk flag, taken from the raw microphone, is what lets a barge-in through."""
    user = speech("Wait, please stop there.")
    begins = round(4.0 * RATE)
    mic = np.zeros(len(far), np.float32)
    mic[begins : begins + len(user)] = user
    flags, cleaned = run_flags(far, mic)
    span = slice(begins // FRAME, (begins + len(user)) // FRAME)
    assert flags[span].sum() > 0.3 * (span.stop - span.start)
    assert not flags[: span.start].any() and not flags[span.stop :].any()
    assert erle_db(mic[begins : begins + len(user)], cleaned[begins : begins + len(user)]) > 10  # muted


def test_echo_alone_is_rarely_taken_for_double_talk(far):
    flags, _ = run_flags(far, room(far))
    pauses = len(pause_onsets(flags))
    assert pauses <= 3  # each costs a short hesitation (the speaker resumes), never a turn


def pause_onsets(flags: np.ndarray) -> list[int]:
    """Frames at which the loop would pause the speaker (the flag this many frames in a row)."""
    onsets, in_a_row = [], 0
    for index, flagged in enumerate(flags):
        in_a_row = in_a_row + 1 if flagged else 0
        if in_a_row == DOUBLE_TALK_FRAMES:
            onsets.append(index)
    return onsets


def test_a_voice_as_loud_as_the_echo_is_flagged_within_a_tenth_of_a_second(far):
    """The canceller lets a voice over the echo through only 100 to 150 ms after it starts; the
    double-talk test, comparing the microphone's spectrum with the echo Heron's sound predicts,
    must be quicker, or a barge-in cannot stop the speaker within 200 ms."""
    user = speech("Wait, please stop there.")
    echo = room(far)
    mic = echo.copy()
    for begins_s in (3.0, 6.5):
        begins = round(begins_s * RATE)
        user_level = np.sqrt(np.mean(echo[begins : begins + RATE] ** 2)) / np.sqrt(np.mean(user**2))
        mic[begins : begins + len(user)] += user[: len(mic) - begins] * user_level
        onset = (begins + np.nonzero(np.abs(user) > 0.01)[0][0]) / RATE
        flags, _ = run_flags(far, mic)
        paused = [
            index * FRAME / RATE for index in pause_onsets(flags) if index * FRAME / RATE >= onset - 0.05
        ]
        assert paused and paused[0] - onset <= 0.1, f"voice at {onset:.2f} s flagged at {paused[:1]}"


def test_speakers_switched_on_mid_answer_are_learnt_not_taken_for_a_voice(far):
    """No echo at first (a headset), then the speaker's sound reaches the microphone: the test
    must take it for the echo it is (a hesitation or two while it makes sure), and still hear a
    voice after."""
    switched_on = round(3.0 * RATE)
    mic = np.zeros(len(far), np.float32)
    mic[switched_on:] = room(far)[switched_on:]
    user = speech("Hold on a second.")
    begins = round(8.0 * RATE)
    mic[begins : begins + len(user)] += user[: len(mic) - begins] * 0.5
    flags, _ = run_flags(far, mic)
    pauses = [index * FRAME / RATE for index in pause_onsets(flags)]
    before_the_voice = [at for at in pauses if at < begins / RATE - 0.05]
    assert len(before_the_voice) <= 2 and all(at < switched_on / RATE + 1.0 for at in before_the_voice)
    assert any(begins / RATE <= at <= begins / RATE + 0.3 for at in pauses)


def test_the_line_up_follows_two_clocks_drifting_apart():
    """The speaker's and the microphone's clocks differ by ~100 ppm: the far end must stay lined
    up with the microphone within a few milliseconds, without jumping on jittery times."""
    canceller = EchoCanceller(enabled=False)
    rng, truth = np.random.default_rng(0), 1000.0
    for _ in range(60 * 100):  # a minute of 10 ms frames
        truth += 160 * 100e-6
        canceller._follow_times(round(truth + rng.normal(0, 30)))
        assert abs(canceller._lineup - truth) <= 3 * 16 + 32  # within 5 ms
    assert abs(canceller._lineup - truth) < 32 + 16
