"""Synthetic scenes with known events, for ``bench/grounding.py``.

Each scene is 40–50 s of one background (noise, a music bed or room tone) with about ten events:
phrases in Heron's own eSpeak NG voices, knocks, claps, door slams, bells, beeps, piano-like
notes and chords, and a dog-bark-like sound. Some follow each other within a second, some start
while the one before still sounds. Every event is trimmed to where it really sounds, so its onset
and offset are known to the sample; the background is scaled for a given SNR (the events' RMS
over the background's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import soxr

from engine.audio import SAMPLE_RATE

RATE = SAMPLE_RATE
EVENT_RMS = 0.1  # every event before its ±3 dB of random gain
FRAME = 160  # 10 ms
END_DB = 30.0  # an event ends where its 10 ms RMS falls this far below its loudest
SCENE_S = (40.0, 50.0)
QUICK, INSIDE = 0.1, 0.1  # shares of events starting within a second of the last, or inside it
GAP_S = (1.0, 4.0)  # otherwise the quiet after the last event
PHRASES = (
    "Could you close the door, please?",
    "The meeting starts in five minutes.",
    "I think we should leave now.",
    "Welcome back to the show.",
    "Did you hear that?",
    "Let me check the schedule.",
    "That was the last train.",
    "Good morning, everyone.",
)
VOICES = (("en-us", 1.0, 50), ("en-gb-x-rp", 0.9, 35), ("en-us+f3", 1.15, 70), ("en-gb-scotland", 1.0, 45))
TEXTS = {
    "speech": ('The speaker says "{phrase}"', "A woman asks: {phrase}", "Someone speaks"),
    "knock": ("Someone knocks on the door", "Knocking is heard"),
    "clap": ("A person claps", "Clapping"),
    "slam": ("A door slams", "A loud bang from the door"),
    "bell": ("A bell rings", "The bell chimes"),
    "beep": ("A beep sounds", "An electronic beep"),
    "note": ("A piano note is played", "A single note"),
    "chord": ("A chord is played on the piano", "A chord"),
    "bark": ("A dog barks", "Barking"),
}
NEUTRAL = ("Something happens here", "The scene changes", "Another event follows")


@dataclass(frozen=True)
class Event:
    kind: str
    start_s: float
    end_s: float  # where it stops sounding at all (``END_DB`` below its loudest)
    text: str
    rms: np.ndarray = field(compare=False, repr=False)  # its own RMS per 10 ms frame


@dataclass(frozen=True)
class Scene:
    events: tuple[Event, ...]
    foreground: np.ndarray  # the events alone
    background: np.ndarray  # at unit RMS
    background_kind: str

    def background_gain(self, snr_db: float) -> float:
        return EVENT_RMS / 10 ** (snr_db / 20)

    def mix(self, snr_db: float) -> np.ndarray:
        return self.foreground + self.background * self.background_gain(snr_db)

    def audible_end(self, event: Event, snr_db: float) -> float:
        """Where ``event`` falls back into the background: its last 10 ms louder than the background there."""
        first = round(event.start_s * RATE)
        span = self.background[first : first + len(event.rms) * FRAME]
        floor = np.sqrt(np.mean(span**2)) * self.background_gain(snr_db)
        louder = np.flatnonzero(event.rms > floor)
        return event.start_s + ((louder[-1] + 1) * FRAME / RATE if len(louder) else 0.0)


def make_scenes(count: int, seed: int = 0) -> list[Scene]:
    rng = np.random.default_rng(seed)
    backgrounds = ("noise", "music", "room")
    return [_scene(rng, backgrounds[i % len(backgrounds)]) for i in range(count)]


def _scene(rng: np.random.Generator, background_kind: str) -> Scene:
    seconds = rng.uniform(*SCENE_S)
    foreground = np.zeros(round(seconds * RATE), np.float32)
    events: list[Event] = []
    t = rng.uniform(0.8, 2.5)
    while True:
        kind = rng.choice(tuple(TEXTS))
        sound = _sound(rng, kind) * (EVENT_RMS * 10 ** (rng.uniform(-3, 3) / 20))
        if t + len(sound) / RATE > seconds - 1.5:
            break
        at = round(t * RATE)
        foreground[at : at + len(sound)] += sound
        events.append(Event(kind, at / RATE, (at + len(sound)) / RATE, _text(rng, kind), _rms(sound)))
        t = _next_start(rng, events[-1])
    background = BACKGROUNDS[background_kind](rng, len(foreground))
    return Scene(tuple(events), foreground, background, background_kind)


def _next_start(rng: np.random.Generator, last: Event) -> float:
    draw = rng.uniform()
    if draw < QUICK:  # quick succession, overlapping a longer event
        return last.start_s + rng.uniform(0.4, 1.0)
    if draw < QUICK + INSIDE and last.end_s - last.start_s > 1.2:  # inside the last one
        return last.start_s + rng.uniform(0.3, (last.end_s - last.start_s) * 0.7)
    return last.end_s + rng.uniform(*GAP_S)


def _text(rng: np.random.Generator, kind: str) -> str:
    if rng.uniform() < 0.15:
        return str(rng.choice(NEUTRAL))
    return str(rng.choice(TEXTS[kind]))


# ---- the events ----------------------------------------------------------------------------------


def _sound(rng: np.random.Generator, kind: str) -> np.ndarray:
    sound = SOUNDS[kind](rng)
    sound = _trim(sound)
    return (sound / np.sqrt(np.mean(sound**2))).astype(np.float32)


def _rms(sound: np.ndarray) -> np.ndarray:
    frames = -(-len(sound) // FRAME)
    padded = np.zeros(frames * FRAME, np.float32)
    padded[: len(sound)] = sound
    return np.sqrt(np.mean(padded.reshape(frames, FRAME) ** 2, axis=1))


def _trim(sound: np.ndarray) -> np.ndarray:
    """From the first 10 ms that sounds to where it has fallen ``END_DB`` below its loudest."""
    first = np.flatnonzero(np.abs(sound) > 0.02 * np.abs(sound).max())[0]
    rms = _rms(sound[first:]) + 1e-12
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > -END_DB)
    return sound[first : first + (loud[-1] + 1) * FRAME]


def _time(seconds: float) -> np.ndarray:
    return np.arange(round(seconds * RATE)) / RATE


def _decay(seconds: float, tau: float, attack: float = 0.002) -> np.ndarray:
    t = _time(seconds)
    return np.minimum(t / attack, 1.0) * np.exp(-t / tau)


def _speech(rng: np.random.Generator) -> np.ndarray:
    from engine.speech.espeak import EspeakVoice

    language, rate, pitch = VOICES[rng.integers(len(VOICES))]
    voice = EspeakVoice(language, rate, pitch)
    samples = voice.synthesize(str(rng.choice(PHRASES)))
    return soxr.resample(samples, voice.sample_rate, RATE).astype(np.float32)


def _resonant_hits(
    rng, count: int, gap: tuple[float, float], freq: tuple[float, float], tau: float
) -> np.ndarray:
    hits = []
    for _ in range(count):
        t = _time(0.25)
        body = np.sin(2 * np.pi * rng.uniform(*freq) * t) * np.exp(-t / tau)
        body += rng.normal(0, 0.3, len(t)) * np.exp(-t / 0.004)
        hits.append(np.concatenate([body, np.zeros(round(rng.uniform(*gap) * RATE))]))
    return np.concatenate(hits)


def _clap(rng: np.random.Generator) -> np.ndarray:
    claps = []
    for _ in range(rng.integers(1, 4)):
        burst = np.diff(rng.normal(0, 1, round(0.12 * RATE) + 1)) * _decay(0.12, 0.012, 0.001)
        claps.append(np.concatenate([burst, np.zeros(round(rng.uniform(0.25, 0.45) * RATE))]))
    return np.concatenate(claps)


def _slam(rng: np.random.Generator) -> np.ndarray:
    noise = np.convolve(rng.normal(0, 1, round(0.6 * RATE)), np.ones(24) / 24, mode="same")
    thump = np.sin(2 * np.pi * rng.uniform(55, 90) * _time(0.6)) * 2
    return (noise + thump) * _decay(0.6, 0.09, 0.001)


def _partials(f0: float, ratios, seconds: float, tau: float, attack: float = 0.004) -> np.ndarray:
    t = _time(seconds)
    tone = sum(np.sin(2 * np.pi * f0 * r * t) / (1 + i) for i, r in enumerate(ratios))
    return tone * _decay(seconds, tau, attack)


def _note(rng: np.random.Generator, midi: float | None = None) -> np.ndarray:
    midi = rng.uniform(50, 76) if midi is None else midi
    return _partials(440 * 2 ** ((midi - 69) / 12), (1, 2, 3, 4, 5), rng.uniform(0.8, 1.4), 0.45)


def _chord(rng: np.random.Generator) -> np.ndarray:
    root = rng.uniform(48, 64)
    third = 3 if rng.uniform() < 0.5 else 4
    notes = [_partials(440 * 2 ** ((root + k - 69) / 12), (1, 2, 3, 4), 1.6, 0.6) for k in (0, third, 7)]
    return sum(notes)


def _bell(rng: np.random.Generator) -> np.ndarray:
    return _partials(rng.uniform(500, 1200), (1, 2.76, 5.40, 8.93), 2.5, 0.7, 0.001)


def _beep(rng: np.random.Generator) -> np.ndarray:
    seconds = rng.uniform(0.15, 0.4)
    t = _time(seconds)
    ramp = np.minimum(1, np.minimum(t, seconds - t) / 0.005)
    return np.sin(2 * np.pi * rng.uniform(800, 2000) * t) * ramp


def _bark(rng: np.random.Generator) -> np.ndarray:
    barks = []
    for _ in range(rng.integers(1, 3)):
        seconds = rng.uniform(0.12, 0.2)
        t = _time(seconds)
        pitch = np.linspace(rng.uniform(450, 600), rng.uniform(300, 380), len(t))
        phase = 2 * np.pi * np.cumsum(pitch) / RATE
        voiced = sum(np.sin(k * phase) / k for k in range(1, 9)) + rng.normal(0, 0.4, len(t))
        barks.append(np.concatenate([voiced * _decay(seconds, 0.07, 0.004), np.zeros(round(0.2 * RATE))]))
    return np.concatenate(barks)


SOUNDS = {
    "speech": _speech,
    "knock": lambda rng: _resonant_hits(rng, rng.integers(2, 4), (0.12, 0.2), (140, 320), 0.03),
    "clap": _clap,
    "slam": _slam,
    "bell": _bell,
    "beep": _beep,
    "note": _note,
    "chord": _chord,
    "bark": _bark,
}


# ---- the backgrounds (unit RMS) ------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(0, 1, n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return _unit(np.fft.irfft(spectrum, n))


def _music_bed(rng: np.random.Generator, n: int) -> np.ndarray:
    """Soft pad chords, each swelling in and out over a second, changing every 2–4 s."""
    bed = np.zeros(n)
    t = 0.0
    while t < n / RATE:
        seconds = rng.uniform(2.0, 4.0) + 1.0
        root = rng.uniform(45, 60)
        pad = sum(
            _partials(440 * 2 ** ((root + k - 69) / 12), (1, 2, 3), seconds, 1e9, 1.0) for k in (0, 4, 7)
        )
        fade = np.minimum(1, (seconds - _time(seconds)) / 1.0)
        at = round(t * RATE)
        piece = (pad * fade)[: n - at]
        bed[at : at + len(piece)] += piece
        t += seconds - 1.0
    return _unit(bed + 0.05 * _pink(rng, n))


def _room(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rumble, mains hum and a little hiss."""
    rumble = np.cumsum(rng.normal(0, 1, n))
    rumble -= np.convolve(rumble, np.ones(801) / 801, mode="same")
    hum = sum(np.sin(2 * np.pi * 50 * k * _time(n / RATE)) / k for k in (1, 2, 3))
    return _unit(_unit(rumble) + 0.5 * _unit(hum) + 0.3 * _unit(rng.normal(0, 1, n)))


BACKGROUNDS = {"noise": _pink, "music": _music_bed, "room": _room}
