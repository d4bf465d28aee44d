"""How fast the waveform redraws a 3-hour recording at several zooms.

Builds the peaks pyramid of a synthetic 3-hour recording (speech-like bursts and pauses, made
chunk by chunk so the 691 MB of samples never exist at once), caches it, then paints the widget
offscreen at 1920×300 into a QImage. A "cold" redraw follows a change of view (everything is
painted again: ruler, waveform, steps); a "playhead" redraw only moves the playhead over the
cached layer, as during playback. Prints a table, then one JSON line:

    QT_QPA_PLATFORM=offscreen python bench/waveform.py [--repeats 30] [--rebuild]

``redraw_ms_median`` is the median of every cold redraw; ``redraw_ms_max`` the median of the
slowest scenario (the goal: ≤ 8 ms); ``redraw_ms_worst`` the slowest single redraw; the
``redraw_cpu_ms_*`` twins count this thread's CPU time only (steady on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.audio import SAMPLE_RATE  # noqa: E402
from engine.audio.peaks import PeaksBuilder, PeaksPyramid  # noqa: E402
from engine.events import Step  # noqa: E402
from ui.waveform import WaveformView  # noqa: E402

RATE = SAMPLE_RATE
HOURS = 3.0
CHUNK = 1 << 20
SIZE = (1920, 300)
MIDDLE = 5400.0  # zoomed views are centred on 1:30:00


def synthetic_chunks(seconds: float, seed: int = 0) -> Iterator[np.ndarray]:
    """Noise shaped into 0.2–3 s bursts of random loudness with pauses, like speech."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(CHUNK).astype(np.float32)
    total = int(seconds * RATE)
    for done in range(0, total, CHUNK):
        n = min(CHUNK, total - done)
        cuts = np.sort(rng.integers(0, n, size=max(n // (RATE // 2), 1)))
        levels = rng.uniform(0.0, 0.5, size=len(cuts) + 1).astype(np.float32)
        levels[rng.random(len(levels)) < 0.3] = 0.002  # pauses
        envelope = np.repeat(levels, np.diff(np.concatenate([[0], cuts, [n]])))
        yield np.roll(noise, int(rng.integers(CHUNK)))[:n] * envelope


def build_pyramid(cache: Path, rebuild: bool) -> tuple[PeaksPyramid, float | None]:
    """The cached pyramid, or a new one and the seconds its computation took (synthesis excluded)."""
    if cache.exists() and not rebuild:
        return PeaksPyramid.load(cache), None
    builder, busy = PeaksBuilder(RATE), 0.0
    for chunk in synthetic_chunks(HOURS * 3600):
        start = time.perf_counter()
        builder.add(chunk)
        busy += time.perf_counter() - start
    start = time.perf_counter()
    pyramid = builder.finish()
    busy += time.perf_counter() - start
    pyramid.save(cache)
    return pyramid, busy


def fifty_steps(duration: float) -> list[Step]:
    """Moments and ranges spread over the 10 minutes around MIDDLE and the whole file, two past the end."""
    rng = np.random.default_rng(1)
    steps = []
    for i in range(50):
        near = i % 2 == 0
        start = MIDDLE + rng.uniform(-300, 300) if near else rng.uniform(0, duration)
        end = start if i % 3 else start + rng.uniform(2, 40)
        steps.append(Step(i, start, end, f"step {i}"))
    steps += [Step(50, duration + 12, duration + 12, "past", past_end=True)]
    steps += [Step(51, duration - 30, duration + 30, "past range", past_end=True)]
    return steps


def time_renders(
    widget: WaveformView, image: QImage, repeats: int, cold: bool
) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per render; a cold one first nudges the view by a pixel.

    CPU time (this thread's) is reported beside wall time because on a shared machine the wall
    time mostly measures the neighbours.
    """
    start, end = widget.visible_range()
    nudge = (end - start) / widget.width()
    times, cpu = [], []
    for i in range(repeats):
        if cold:
            shift = nudge if i % 2 else 0.0
            widget.set_visible_range(start + shift, end + shift)
        else:
            widget.set_playhead(start + (end - start) * (0.3 + 0.001 * i))
        began, began_cpu = time.perf_counter(), time.thread_time()
        widget.render(image)
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.thread_time() - began_cpu) * 1000)
    return times, cpu


def scenarios(duration: float) -> list[tuple[str, float, bool]]:
    """(name, visible seconds, with steps)."""
    return [
        ("whole 3 h", duration, False),
        ("10 min", 600.0, False),
        ("1 min", 60.0, False),
        ("5 s", 5.0, False),
        ("whole 3 h + 52 steps", duration, True),
        ("10 min + 52 steps", 600.0, True),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true", help="recompute the pyramid even if cached")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "heron-bench-peaks-3h.npz"
    )
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    pyramid, compute_s = build_pyramid(args.cache, args.rebuild)
    widget = WaveformView()
    widget.resize(*SIZE)
    widget.show()
    app.processEvents()
    widget.set_peaks(pyramid)
    image = QImage(widget.size() * widget.devicePixelRatioF(), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(widget.devicePixelRatioF())

    rows, cold_all, cpu_all = [], [], []
    for name, span, with_steps in scenarios(pyramid.duration):
        widget.set_steps(fifty_steps(pyramid.duration) if with_steps else [])
        start = 0.0 if span >= pyramid.duration else MIDDLE - span / 2
        widget.set_visible_range(start, start + span)
        widget.render(image)  # warm-up: caches, first-use costs
        cold, cpu = time_renders(widget, image, args.repeats, cold=True)
        cold_all += cold
        cpu_all += cpu
        rows.append((name, statistics.median(cold), max(cold), statistics.median(cpu)))
    playhead, playhead_cpu = time_renders(widget, image, args.repeats, cold=False)

    print(
        f"pyramid: {pyramid.duration / 3600:.1f} h, {len(pyramid.levels)} levels, "
        f"{pyramid.nbytes / 1e6:.2f} MB, compute " + (f"{compute_s:.2f} s" if compute_s else "cached")
    )
    print(f"{'view (1920×300)':<24}{'median ms':>10}{'max ms':>10}{'cpu ms':>10}")
    for name, median, worst, cpu in rows:
        print(f"{name:<24}{median:>10.2f}{worst:>10.2f}{cpu:>10.2f}")
    print(
        f"{'playhead move (cached)':<24}{statistics.median(playhead):>10.2f}{max(playhead):>10.2f}"
        f"{statistics.median(playhead_cpu):>10.2f}"
    )
    result = {
        "bench": "waveform",
        "redraw_ms_median": round(statistics.median(cold_all), 3),
        "redraw_ms_max": round(max(row[1] for row in rows), 3),
        "redraw_ms_worst": round(max(cold_all), 3),
        "redraw_cpu_ms_median": round(statistics.median(cpu_all), 3),
        "redraw_cpu_ms_max": round(max(row[3] for row in rows), 3),
        "playhead_ms_median": round(statistics.median(playhead), 3),
        "pyramid_mb": round(pyramid.nbytes / 1e6, 3),
        "compute_s_3h": None if compute_s is None else round(compute_s, 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
