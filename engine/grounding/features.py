"""Band powers of 16 kHz audio on a 10 ms grid: what the onset search reads.

A frame ``i`` of a stretch is centred on sample ``i * HOP`` of it; its value is the power in each
of ``BANDS`` mel bands over a 32 ms Hann window. Mel bands (rather than FFT bins) let a sound that
rises in a few bands stand out of broadband noise, as in librosa's onset strength.
"""

from __future__ import annotations

import functools

import numpy as np

RATE = 16000
HOP = 160  # 10 ms
WINDOW = 512  # 32 ms
BANDS = 40
LOW_HZ, HIGH_HZ = 60.0, 7600.0
FLOOR = 1e-10  # power of digital silence, so that logarithms stay finite


def band_powers(samples: np.ndarray, frames: int) -> np.ndarray:
    """``(frames, BANDS)`` powers; ``samples`` holds ``WINDOW // 2`` samples of context on each
    side of the frames' centres, i.e. ``(frames - 1) * HOP + WINDOW`` samples.

    torch does the transform (on the one thread silero-vad leaves it): numpy's matrix product
    starts OpenBLAS threads, which took 3 to 14 ms instead of 0.2 on a busy two-core machine.
    """
    import torch

    with torch.inference_mode():
        audio = torch.from_numpy(np.ascontiguousarray(samples[: (frames - 1) * HOP + WINDOW]))
        spectra = torch.stft(audio, WINDOW, HOP, window=_window(), center=False, return_complex=True)
        power = spectra.real.square() + spectra.imag.square()
        return (power.T @ _mel_filters()).numpy() + FLOOR


@functools.cache
def _window():
    import torch

    return torch.hann_window(WINDOW, periodic=False)


@functools.cache
def _mel_filters():
    """``(WINDOW // 2 + 1, BANDS)`` triangular filters, evenly spaced in mel (a torch tensor)."""
    import torch

    mel = np.linspace(_mel(LOW_HZ), _mel(HIGH_HZ), BANDS + 2)
    edges = 700.0 * (10 ** (mel / 2595.0) - 1)
    bins = np.fft.rfftfreq(WINDOW, 1 / RATE)
    filters = np.zeros((len(bins), BANDS), np.float32)
    for band in range(BANDS):
        low, centre, high = edges[band : band + 3]
        rising = (bins - low) / (centre - low)
        falling = (high - bins) / (high - centre)
        filters[:, band] = np.clip(np.minimum(rising, falling), 0, None)
    return torch.from_numpy(filters)


def _mel(hz: float) -> float:
    return 2595.0 * np.log10(1 + hz / 700.0)
