"""Does a click on a cited time land on the event? Raw cited times against snapped ones.

Builds synthetic scenes with known onsets and offsets (``bench/scenes.py``: speech in Heron's
eSpeak NG voices, knocks, claps, door slams, bells, beeps, notes, chords, barks; some in quick
succession or overlapping; over noise, a music bed or room tone), at SNRs of 20, 10 and 5 dB.
Each event is cited the way a model cites it: its onset rounded down to the whole second, shifted
by noise (uniform ±1.5 s, or a heavier-tailed Student-t), written as a whole second again. Events
longer than a second are also cited as a range. One ``Grounder`` per scene, as the app keeps one
per recording, so ``ms_per_anchor`` includes analysing the parts of the scene the anchors need
(``cpu_ms_per_anchor``: the same in this thread's CPU time, which other work on the machine does
not inflate; ``analysed_cpu_ms_per_anchor``: the anchors snapped again once the scene's blocks are
analysed, i.e. the choosing alone).

Reported per SNR, raw against snapped:
- the median and p90 of |landing − true onset| (the landing of a snap is its onset, before the
  playback's pre-roll);
- the rate of landing on the cited event (within 250 ms of its onset), and on a different one
  (within 250 ms of another event's onset and not of the cited one's); a raw time is rarely
  near any onset, so it is seldom "wrong" that way, and seldom right;
- for ranges, the median |end − true end|.

    python bench/grounding.py [--scenes 22] [--seed 0]

Prints a table, then one JSON line per SNR.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scenes import RATE, Event, Scene, make_scenes  # noqa: E402
from engine.grounding import ArrayAudio, Grounder  # noqa: E402
from engine.grounding.hints import HIT, SOUND, SPEECH, TONE, event_kind  # noqa: E402

SNRS = (20, 10, 5)
NOISES = ("uniform", "heavy")
SAME_EVENT_S = 0.25
ISOLATED_S = 3.0  # an event with no other starting this near is "isolated"
MIN_RANGE_S = 1.0  # events at least this long are also cited as a range


COLUMNS = (
    ("SNR (dB)", "snr_db"),
    ("|landing - onset| raw median ms", "raw_median_ms"),
    ("  raw p90 ms", "raw_p90_ms"),
    ("  snapped median ms", "snapped_median_ms"),
    ("  snapped p90 ms", "snapped_p90_ms"),
    ("  snapped, isolated events, median", "isolated_median_ms"),
    ("  snapped, isolated events, p90", "isolated_p90_ms"),
    ("lands on the cited event: raw", "raw_on_event_rate"),
    ("  snapped", "snapped_on_event_rate"),
    ("lands on another event: raw", "raw_wrong_event_rate"),
    ("  snapped", "wrong_event_rate"),
    ("  best possible (nearest of kind)", "oracle_wrong_event_rate"),
    ("kept raw (kind none)", "none_rate"),
    ("range end error: raw median ms", "raw_end_median_ms"),
    ("  snapped median ms", "snapped_end_median_ms"),
    ("ms per anchor", "ms_per_anchor"),
    ("  CPU ms per anchor (this thread)", "cpu_ms_per_anchor"),
    ("  CPU ms, its audio analysed already", "analysed_cpu_ms_per_anchor"),
)


@dataclass
class Tally:
    raw: list[float] = field(default_factory=list)  # |landing − onset|, seconds
    snapped: list[float] = field(default_factory=list)
    raw_wrong: int = 0
    snapped_wrong: int = 0
    raw_end: list[float] = field(default_factory=list)
    snapped_end: list[float] = field(default_factory=list)
    none: int = 0
    oracle_wrong: int = 0  # the nearest event of the named kind is not the cited one
    isolated: list[float] = field(
        default_factory=list
    )  # |snapped − onset| with no other event within ISOLATED_S
    seconds: float = 0.0  # time spent snapping
    cpu_seconds: float = 0.0  # … of this thread's CPU (steadier on a busy machine)
    warm_cpu_seconds: float = 0.0  # the same anchors again, their audio analysed already

    @property
    def anchors(self) -> int:
        return len(self.snapped)


def cite(rng: np.random.Generator, seconds: float, noise: str) -> float:
    """A whole second, as a model writes it: rounded down, shifted by its error, rounded again."""
    heavy = float(np.clip(rng.standard_t(2) * 0.6, -6, 6))  # Student-t: most near, a few seconds off
    shift = rng.uniform(-1.5, 1.5) if noise == "uniform" else heavy
    return float(max(round(math.floor(seconds) + shift), 0))


def lands_elsewhere(landing: float, event: Event, events: tuple[Event, ...]) -> bool:
    if abs(landing - event.start_s) <= SAME_EVENT_S:
        return False
    return any(abs(landing - e.start_s) <= SAME_EVENT_S for e in events if e is not event)


def nearest_of_kind(cited: float, event: Event, events: tuple[Event, ...]) -> Event:
    """The event a perfect snapper would pick knowing only the cited second and the named kind."""
    named = event_kind(event.text)
    pool = [
        e for e in events if named is None or _kind_of(e) == named or named == SOUND and _kind_of(e) != SPEECH
    ]
    return min(pool, key=lambda e: abs(e.start_s - (cited + 0.5)))


def _kind_of(event: Event) -> str:
    return {"speech": SPEECH, "bell": TONE, "beep": TONE, "note": TONE, "chord": TONE}.get(event.kind, HIT)


def run_scene(scene: Scene, snr: float, rng: np.random.Generator, tally: Tally) -> None:
    grounder = Grounder(ArrayAudio(scene.mix(snr)))
    asked: list[tuple[float, float | None, str]] = []
    for event in scene.events:
        end = scene.audible_end(event, snr)
        alone = all(abs(e.start_s - event.start_s) > ISOLATED_S for e in scene.events if e is not event)
        for noise in NOISES:
            cited = cite(rng, event.start_s, noise)
            ranged = end - event.start_s >= MIN_RANGE_S
            cited_end = max(cite(rng, end, noise), cited + 1) if ranged else None
            began, began_cpu = time.perf_counter(), time.thread_time()
            snapped = grounder.snap(cited, cited_end, event.text)
            tally.seconds += time.perf_counter() - began
            tally.cpu_seconds += time.thread_time() - began_cpu
            asked.append((cited, cited_end, event.text))
            tally.raw.append(abs(cited - event.start_s))
            tally.snapped.append(abs(snapped.start_s - event.start_s))
            tally.raw_wrong += lands_elsewhere(cited, event, scene.events)
            tally.snapped_wrong += lands_elsewhere(snapped.start_s, event, scene.events)
            tally.none += snapped.kind == "none"
            tally.oracle_wrong += nearest_of_kind(cited, event, scene.events) is not event
            if alone:
                tally.isolated.append(abs(snapped.start_s - event.start_s))
            if cited_end is not None:
                tally.raw_end.append(abs(cited_end - end))
                tally.snapped_end.append(abs(snapped.end_s - end))
    began = time.thread_time()
    for cited, cited_end, text in asked:  # again, the scene analysed: what each anchor alone costs
        grounder.snap(cited, cited_end, text)
    tally.warm_cpu_seconds += time.thread_time() - began


def summary(snr: float, tally: Tally) -> dict:
    def ms(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)) * 1000, 1)

    return {
        "bench": "grounding",
        "snr_db": snr,
        "raw_median_ms": ms(tally.raw, 50),
        "snapped_median_ms": ms(tally.snapped, 50),
        "snapped_p90_ms": ms(tally.snapped, 90),
        "wrong_event_rate": round(tally.snapped_wrong / tally.anchors, 3),
        "ms_per_anchor": round(tally.seconds * 1000 / tally.anchors, 2),
        "cpu_ms_per_anchor": round(tally.cpu_seconds * 1000 / tally.anchors, 2),
        "analysed_cpu_ms_per_anchor": round(tally.warm_cpu_seconds * 1000 / tally.anchors, 2),
        "raw_p90_ms": ms(tally.raw, 90),
        "raw_wrong_event_rate": round(tally.raw_wrong / tally.anchors, 3),
        "raw_on_event_rate": _share_within(tally.raw, SAME_EVENT_S),
        "snapped_on_event_rate": _share_within(tally.snapped, SAME_EVENT_S),
        "raw_end_median_ms": ms(tally.raw_end, 50),
        "snapped_end_median_ms": ms(tally.snapped_end, 50),
        "none_rate": round(tally.none / tally.anchors, 3),
        "oracle_wrong_event_rate": round(tally.oracle_wrong / tally.anchors, 3),
        "isolated_median_ms": ms(tally.isolated, 50),
        "isolated_p90_ms": ms(tally.isolated, 90),
        "isolated_anchors": len(tally.isolated),
        "anchors": tally.anchors,
        "ranges": len(tally.snapped_end),
    }


def _share_within(errors: list[float], limit_s: float) -> float:
    return round(sum(e <= limit_s for e in errors) / len(errors), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=22)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    scenes = make_scenes(args.scenes, args.seed)
    events = sum(len(s.events) for s in scenes)
    warm = Grounder(ArrayAudio(scenes[0].mix(20)))  # load silero and torch, and let its JIT settle
    for cited in range(0, 30, 3):
        warm.snap(float(cited))
    rows = []
    for snr in SNRS:
        tally, rng = Tally(), np.random.default_rng(args.seed + snr)
        for scene in scenes:
            run_scene(scene, snr, rng, tally)
        rows.append(summary(snr, tally))
    seconds = sum(len(s.foreground) for s in scenes) / RATE
    print(
        f"{len(scenes)} scenes, {events} events, {seconds:.0f} s of audio; anchors per SNR: {rows[0]['anchors']}"
    )
    for title, key in COLUMNS:
        print(f"{title:<34}" + "".join(f"{r[key]:>10}" for r in rows))
    for r in rows:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
