"""The min/max peaks pyramid: exact levels, columns that cover the time asked for, a cache file."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.peaks import (
    BLOCK,
    SCALE,
    TOP_PAIRS,
    PeaksBuilder,
    PeaksCacheError,
    PeaksPyramid,
    level_lengths,
    load_or_compute,
    pyramid_nbytes,
    quantize_down,
    quantize_up,
)
from engine.errors import CancelledError

RATE = 16000


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    """Enough blocks for four levels above level 0: loud noise within ±1, a partial last block."""
    rng = np.random.default_rng(7)
    n = BLOCK * TOP_PAIRS * 5 + 1234
    return np.clip(rng.standard_normal(n) * 0.3, -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def pyramid(samples: np.ndarray) -> PeaksPyramid:
    return PeaksPyramid.compute(samples, RATE)


def brute_force(samples: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of each run of ``size`` samples (the last may be shorter), one Python loop."""
    starts = range(0, len(samples), size)
    mins = np.array([samples[s : s + size].min() for s in starts])
    maxs = np.array([samples[s : s + size].max() for s in starts])
    return quantize_down(mins), quantize_up(maxs)


def test_every_level_equals_a_brute_force_min_max(samples, pyramid):
    assert [len(lo) for lo, _ in pyramid.levels] == level_lengths(len(samples))
    for level, (lo, hi) in enumerate(pyramid.levels):
        want_lo, want_hi = brute_force(samples, BLOCK * 2**level)
        np.testing.assert_array_equal(lo, want_lo)
        np.testing.assert_array_equal(hi, want_hi)
    assert len(pyramid.levels[-1][0]) <= TOP_PAIRS < len(pyramid.levels[-2][0])


def test_quantizing_never_shrinks_a_peak(samples, pyramid):
    lo, hi = pyramid.levels[0]
    assert (lo / SCALE <= samples[: len(lo) * BLOCK : BLOCK]).all()
    assert lo.min() / SCALE <= samples.min() and hi.max() / SCALE >= samples.max()


def test_chunks_of_any_size_build_the_same_pyramid(samples, pyramid):
    builder = PeaksBuilder(RATE)
    cuts = [0, 1, 255, 256, 1000, 70_000, 70_001, len(samples)]
    for a, b in zip(cuts, cuts[1:], strict=False):
        builder.add(samples[a:b])
    built = builder.finish()
    assert built.n_samples == len(samples)
    for (lo, hi), (lo2, hi2) in zip(pyramid.levels, built.levels, strict=True):
        np.testing.assert_array_equal(lo, lo2)
        np.testing.assert_array_equal(hi, hi2)


@pytest.mark.parametrize(
    ("start", "end", "columns"),
    [
        (0.0, 5.0, 1920),
        (1.234, 1.5, 7),
        (0.0, 0.001, 300),
        (-2.0, 30.0, 500),
        (3.0, 100.0, 1),
        (0.5, 0.6, 1000),
    ],
)
def test_range_gives_exactly_one_pair_per_column(pyramid, start, end, columns):
    mins, maxs = pyramid.range(start, end, columns)
    assert mins.shape == maxs.shape == (columns,)
    assert mins.dtype == np.float32
    assert (mins <= maxs).all()


def test_range_columns_cover_the_time_they_stand_for(samples, pyramid):
    """Each column holds every sample inside its span, and nothing further than one pair outside."""
    rng = np.random.default_rng(3)
    for _ in range(25):
        start = rng.uniform(0, pyramid.duration * 0.8)
        end = rng.uniform(start + 0.05, pyramid.duration)
        columns = int(rng.integers(1, 800))
        mins, maxs = pyramid.range(start, end, columns)
        width = (end - start) / columns
        pair = pyramid.pair_seconds(max(pyramid.level_for(width), 0))
        assert pair <= width or pyramid.level_for(width) < 0
        for i in rng.integers(0, columns, size=5):
            t0, t1 = start + i * width, start + (i + 1) * width
            inner = samples[int(np.ceil(t0 * RATE)) : int(np.floor(t1 * RATE))]
            outer = samples[max(int((t0 - pair) * RATE), 0) : int((t1 + pair) * RATE) + 1]
            if len(inner):
                assert mins[i] <= inner.min() and maxs[i] >= inner.max()
            assert mins[i] >= outer.min() - 1 / SCALE and maxs[i] <= outer.max() + 1 / SCALE


def test_a_click_lands_in_its_column():
    samples = np.zeros(RATE * 600, np.float32)
    samples[int(RATE * 123.456)] = 0.9  # one loud sample at 2:03.456
    pyramid = PeaksPyramid.compute(samples, RATE)
    for start, end, columns in [(0, 600, 1920), (120, 130, 1000), (123, 124, 50)]:
        _, maxs = pyramid.range(start, end, columns)
        loud = np.flatnonzero(maxs > 0.5)
        width = (end - start) / columns
        assert int((123.456 - start) / width) in loud
        # Neighbours show it only when they share the stored pair holding it.
        pair = pyramid.pair_seconds(max(pyramid.level_for(width), 0))
        centres = start + (loud + 0.5) * width
        assert (abs(centres - 123.456) <= pair + width).all()


def test_outside_the_recording_is_silence(pyramid):
    mins, maxs = pyramid.range(-10, pyramid.duration + 10, 100)  # 24 columns either side are outside
    assert (mins[:24] == 0).all() and (maxs[-24:] == 0).all()
    assert maxs[26:74].min() > 0.3


def test_level_for_picks_the_coarsest_level_no_longer_than_a_column(pyramid):
    for level in range(len(pyramid.levels)):
        pair = pyramid.pair_seconds(level)
        assert pyramid.level_for(pair * 1.01) == level
        assert pyramid.level_for(pair * 1.99) == level
    assert pyramid.level_for(pyramid.pair_seconds(0) * 0.5) == -1
    assert pyramid.level_for(1e9) == len(pyramid.levels) - 1


def test_samples_give_the_detail_finer_than_a_block(samples, pyramid):
    detailed = pyramid.with_samples(samples)
    mins, maxs = detailed.range(1.0, 1.0 + 64 / RATE, 64)  # one column per sample
    one = samples[RATE : RATE + 65]
    # Each column holds its sample, and at most the next one (when rounding puts it on the edge).
    assert (mins <= one[:-1]).all() and (maxs >= one[:-1]).all()
    assert (mins >= np.minimum(one[:-1], one[1:])).all() and (maxs <= np.maximum(one[:-1], one[1:])).all()
    coarse_mins, _ = pyramid.range(1.0, 1.0 + 64 / RATE, 64)
    assert len(np.unique(coarse_mins)) <= 2  # without samples: level 0 stretched
    with pytest.raises(ValueError):
        pyramid.with_samples(samples[:10])


def test_save_and_load_round_trip(tmp_path, pyramid):
    path = tmp_path / "cache" / "peaks.npz"
    pyramid.save(path)
    loaded = PeaksPyramid.load(path)
    assert (loaded.rate, loaded.n_samples, loaded.block) == (pyramid.rate, pyramid.n_samples, BLOCK)
    for (lo, hi), (lo2, hi2) in zip(pyramid.levels, loaded.levels, strict=True):
        np.testing.assert_array_equal(lo, lo2)
        np.testing.assert_array_equal(hi, hi2)
    np.testing.assert_array_equal(loaded.range(1, 9, 333)[1], pyramid.range(1, 9, 333)[1])
    assert [p.name for p in path.parent.iterdir()] == ["peaks.npz"]  # no temporary file left


def test_a_damaged_cache_is_refused(tmp_path, pyramid):
    path = tmp_path / "peaks.npz"
    path.write_bytes(b"not numpy")
    with pytest.raises(PeaksCacheError):
        PeaksPyramid.load(path)
    with pytest.raises(PeaksCacheError):
        PeaksPyramid.load(tmp_path / "missing.npz")
    np.savez(path, meta=np.array([99, 1, 2, 3]), mins=np.zeros(1, np.int16), maxs=np.zeros(1, np.int16))
    with pytest.raises(PeaksCacheError):
        PeaksPyramid.load(path)


def test_load_or_compute_caches_once(tmp_path, samples):
    path = tmp_path / "k.npz"
    calls = []
    first = load_or_compute(path, samples, RATE, progress=lambda done, total: calls.append(done))
    assert path.exists() and calls
    calls.clear()
    second = load_or_compute(path, samples, RATE, progress=lambda done, total: calls.append(done))
    assert not calls and second.samples is samples and first.n_samples == second.n_samples


def test_progress_reports_seconds_and_cancel_stops(samples):
    seen = []
    PeaksPyramid.compute(samples, RATE, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == pytest.approx((len(samples) / RATE, len(samples) / RATE))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    with pytest.raises(CancelledError):
        PeaksPyramid.compute(samples, RATE, should_cancel=lambda: True)


def test_memory_for_three_hours_is_a_few_megabytes(pyramid, samples):
    assert pyramid.nbytes == pyramid_nbytes(len(samples))
    n = 3 * 3600 * RATE  # 172.8 M samples: computed arithmetically, never allocated
    lengths = level_lengths(n)
    assert lengths[0] == 675_000
    assert lengths[-1] <= TOP_PAIRS and len(lengths) == 13
    assert pyramid_nbytes(n) == sum(lengths) * 4  # an int16 min and max per pair
    assert pyramid_nbytes(n) < 2 * 675_000 * 4 < 5.5e6  # levels above 0 add less than level 0


def test_an_empty_recording_draws_nothing():
    empty = PeaksPyramid.compute(np.zeros(0, np.float32), RATE)
    assert empty.duration == 0
    mins, maxs = empty.range(0, 1, 10)
    assert (mins == 0).all() and (maxs == 0).all()
