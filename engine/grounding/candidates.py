"""Where events may start in a stretch: sound onsets, speech starts, and where each one ends.

A sound onset is a peak of the flux, backtracked (as librosa's ``onset_detect(backtrack=True)``)
to where the level rose out of what came before it. A speech start is where silero's probability
rises after a pause, backtracked the same way (silero answers per 32 ms chunk, a chunk or two
late). Each candidate has a salience, 0 to 1, from how far it rises above what preceded it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.grounding.analysis import FRAME_S
from engine.grounding.envelope import Envelope, smooth

PEAK_RADIUS = 3  # frames: a flux peak is the largest within ±30 ms
PRE = (30, 4)  # the level before an onset: frames 300 ms to 40 ms before it
ATTACK = 20  # frames after a flux peak in which the level reaches its top (200 ms)
MIN_RISE_DB = 4.0  # less is the background's own flicker
FULL_RISE_DB = 10.0  # salience 1
SPEECH_ON, SPEECH_OFF = 0.5, 0.35  # silero's usual thresholds, with hysteresis
PAUSE = 12  # frames of low probability before a speech start (120 ms)
QUIET = 20  # frames the level must stay down for an event to have ended (200 ms)
SPEECH_QUIET = 30  # … and silero's probability, for speech (short pauses are inside a phrase)
SAME_ONSET_S = 0.08  # onsets closer than this are one
WINDOW_LEAD_S = 0.011  # a frame's 32 ms window sees a sharp onset ~11 ms before its centre does
BANDS_RISING, BAND_RISE_OFFSET_DB = 3, 6.0  # noise lifts its 3 most-risen bands ~5 dB (90th pct)
DECAY, DECAY_DB_PER_S, MIN_DROP_DB = 15, 25.0, 1.5  # see _decays
RUN_S = 0.6  # hits that sound alike and closer than this are one knocking, clapping or barking
TALKING = 50  # frames: speech within 500 ms before a speech onset makes it part of that utterance
ALIKE = 0.8  # spectra this similar (cosine) make two hits one source
STEADY = 0.85  # speech never stays this alike for 400 ms (its 90th percentile: 0.6); notes do (0.95)


@dataclass(frozen=True)
class Candidate:
    start_s: float
    end_s: float  # where the event falls back into the background
    salience: float  # 0–1
    speech: bool
    continues: bool = False  # part of an event begun just before: a word in a phrase, a second knock
    decays: bool = False  # dies away at once, as a knock or a clap does (a bell or a beep rings on)


def candidates(env: Envelope, lo_s: float, hi_s: float) -> list[Candidate]:
    """Every event starting between ``lo_s`` and ``hi_s``, in time order, one per onset."""
    found = [_sound(env, peak) for peak in _flux_peaks(env, env.frame(lo_s), env.frame(hi_s))]
    found += [_speech(env, start) for start in _speech_starts(env, env.frame(lo_s), env.frame(hi_s))]
    found = sorted((c for c in found if c is not None and lo_s <= c.start_s <= hi_s), key=lambda c: c.start_s)
    return _runs(env, _merge(found))


def _flux_peaks(env: Envelope, lo: int, hi: int) -> np.ndarray:
    """Frames where the flux is the largest within ±30 ms and above its local average."""
    flux = np.pad(env.flux, PEAK_RADIUS, constant_values=np.inf)
    nearby = sliding_window_view(flux, 2 * PEAK_RADIUS + 1).max(axis=1)
    peaks = (env.flux == nearby) & (env.flux > smooth(env.flux, 21) + 0.5)
    frames = np.flatnonzero(peaks)
    return frames[(frames >= max(lo - ATTACK, 1)) & (frames <= hi)]


def _speech_starts(env: Envelope, lo: int, hi: int) -> np.ndarray:
    """Frames where silero's probability crosses ``SPEECH_ON`` after a pause."""
    speech = env.speech
    crossing = np.flatnonzero((speech[1:] >= SPEECH_ON) & (speech[:-1] < SPEECH_ON)) + 1
    crossing = crossing[(crossing >= max(lo - ATTACK, PAUSE)) & (crossing <= hi + ATTACK)]
    return np.array([f for f in crossing if np.mean(speech[f - PAUSE : f]) < SPEECH_OFF], dtype=int)


def _sound(env: Envelope, peak: int) -> Candidate | None:
    onset = _backtrack(env, peak)
    if onset is None:
        return None
    frame, rise = onset
    return _candidate(env, frame, rise, speech=_speaks_after(env, round(frame)))


def _speech(env: Envelope, start: int) -> Candidate | None:
    onset = _backtrack(env, start - 2)  # silero's chunk may begin before the frame it is read at
    confidence = _mean(env.speech[start : start + 30])
    if onset is None:
        frame, rise = float(start - 3), MIN_RISE_DB
    else:
        frame, rise = onset
    candidate = _candidate(env, frame, rise, speech=True)
    weight = np.clip((confidence - 0.4) / 0.5, 0, 1)
    return replace(candidate, salience=max(candidate.salience, float(weight)))


def _backtrack(env: Envelope, peak: int) -> tuple[float, float] | None:
    """(the frame, fractional, where the level left what preceded it; the rise in dB), or None."""
    level = env.level
    top = peak + int(np.argmax(level[peak : peak + ATTACK])) if peak < len(env) else len(env) - 1
    before = level[max(peak - PRE[0], 0) : max(peak - PRE[1], 0)]
    if len(before) < 5:  # the stretch (the recording) begins: nothing to rise out of
        before = np.array([0.0], np.float32)
    floor = _median(before)
    rise = float(level[top]) - floor
    if rise < MIN_RISE_DB:
        return None
    rise = max(rise, _band_rise(env, peak) - BAND_RISE_OFFSET_DB)
    threshold = floor + max(2.0, 0.2 * rise)
    frame = top
    while frame > max(peak - PRE[0], 1) and level[frame - 1] > threshold:
        frame -= 1
    below, above = float(level[frame - 1]), float(level[frame])
    fraction = (threshold - below) / (above - below) if above > below else 1.0
    return frame - 1 + float(np.clip(fraction, 0, 1)), rise


def _band_rise(env: Envelope, peak: int) -> float:
    """How far the ``BANDS_RISING`` bands that rise most rise at ``peak`` (dB): a new tone over a
    sound already playing rises in its own bands far more than in the level of all of them."""
    before = env.above[max(peak - PRE[0], 0) : max(peak - PRE[1], 1)]
    after = env.above[peak : peak + 10]
    if not len(before) or not len(after):
        return 0.0
    rises = after.mean(axis=0) - np.sort(before, axis=0)[len(before) // 2]
    return float(np.sort(rises)[-BANDS_RISING:].mean())


def _candidate(env: Envelope, frame: float, rise: float, speech: bool) -> Candidate:
    start = round(frame)
    speech = speech and steadiness(env, start) < STEADY  # silero takes a held note for a voice
    before = env.speech[max(start - TALKING, 0) : max(start - 2, 0)]
    inside = speech and len(before) > 0 and float(smooth(before, 3).max()) >= SPEECH_ON
    salience = float(np.clip((rise - MIN_RISE_DB) / (FULL_RISE_DB - MIN_RISE_DB), 0.05, 1))
    end = _end(env, start, rise, speech)
    decays = _decays(env, start, end)
    at = env.time(frame) + (0.0 if speech else WINDOW_LEAD_S)  # a voice's soft start is heard later
    return Candidate(at, env.time(end), salience, speech, inside, decays)


def steadiness(env: Envelope, start: int) -> float:
    """How alike the spectrum stays over the 400 ms after ``start`` (1: a held tone; speech ≈ 0.5)."""
    rows = np.clip(env.above[start + 2 : start + 42 : 5], 0, None)
    if len(rows) < 2:
        return 0.0
    rows = rows - rows.mean(axis=1, keepdims=True)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True) + 1e-9
    return float(np.mean(np.sum(rows[1:] * rows[:-1], axis=1)))


def _decays(env: Envelope, start: int, end: int) -> bool:
    """Whether the level falls at ``DECAY_DB_PER_S`` or faster once it nears its top, over
    ``DECAY`` frames or half the event if shorter: a knock dies away at 150 dB/s, a door slam at
    50, a bell or a note at 5 to 10, and a beep holds until it stops."""
    attack = env.level[start : start + ATTACK]
    if not len(attack):
        return False
    top = start + int(np.argmax(attack >= attack.max() - 1.5))
    frames = max(min(DECAY, (end - top) // 2), 3)
    later = min(top + frames, len(env) - 1)
    drop = float(env.level[top] - _mean(env.level[later - 1 : later + 2]))
    return drop >= MIN_DROP_DB and drop / (frames * FRAME_S) >= DECAY_DB_PER_S


def _speaks_after(env: Envelope, frame: int) -> bool:
    return _mean(env.speech[frame : frame + 30]) >= SPEECH_ON + 0.1


def _mean(values: np.ndarray) -> float:
    return float(values.sum()) / len(values) if len(values) else 0.0


def _median(values: np.ndarray) -> float:
    """The (upper) median: ``np.median``'s checks cost ten times the sort on these few values."""
    return float(np.sort(values)[len(values) // 2]) if len(values) else 0.0


def _end(env: Envelope, start: int, rise: float, speech: bool) -> int:
    """The first frame after ``start`` from which the event stays back in the background."""
    floor = _median(env.level[max(start - PRE[0], 0) : max(start - PRE[1], 1)])
    loud = env.level[start + 1 :] > floor + max(2.0, 0.25 * rise)
    if speech:
        loud &= smooth(env.speech, 3)[start + 1 :] >= SPEECH_OFF
    quiet = SPEECH_QUIET if speech else QUIET
    if len(loud) < quiet:
        return len(env) - 1
    runs = np.flatnonzero(sliding_window_view(~loud, quiet).all(axis=1))
    return start + 1 + int(runs[0]) if len(runs) else len(env) - 1


def _merge(found: list[Candidate]) -> list[Candidate]:
    """One candidate per onset: a phrase's start winning over a sound onset, then the most salient."""
    merged: list[Candidate] = []
    for candidate in found:
        last = merged[-1] if merged else None
        if last is not None and candidate.start_s - last.start_s < SAME_ONSET_S:
            keep = max((last, candidate), key=lambda c: (c.speech and not c.continues, c.salience))
            merged[-1] = replace(keep, salience=max(last.salience, candidate.salience))
        else:
            merged.append(candidate)
    return merged


def _runs(env: Envelope, found: list[Candidate]) -> list[Candidate]:
    """A hit soon after a hit that sounds alike continues it (the second knock of a knocking)."""
    out = list(found)
    for i, candidate in enumerate(found):
        earlier = (c for c in found[:i] if 0 < candidate.start_s - c.start_s < RUN_S)
        if candidate.decays and any(c.decays and _alike(env, c, candidate) for c in earlier):
            out[i] = replace(candidate, continues=True)
    return out


def _alike(env: Envelope, a: Candidate, b: Candidate) -> bool:
    first, second = (_profile(env, env.frame(c.start_s)) for c in (a, b))
    return float(first @ second) >= ALIKE


def _profile(env: Envelope, frame: int) -> np.ndarray:
    """The shape of the spectrum just after an onset, unit length."""
    shape = np.clip(env.above[frame : frame + 5].mean(axis=0), 0, None)
    return shape / (np.linalg.norm(shape) + 1e-9)
