"""How loud a stretch is above its own background, and where sounds rise out of it.

``level`` is each frame's power over the background's, averaged across the mel bands, in dB:
about 0 in the background whatever its colour, and high where any band rises above it. The
background of each band is its 20th percentile over the stretch (about 9 s around an anchor),
so a music bed or room tone is background, and an event is what stands out of it.

``flux`` is the onset strength (librosa's spectral flux on log-mel bands): how much the bands
rose over the last 20 ms, counting only what rises above the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.grounding.analysis import FRAME_S, Region

BACKGROUND_PERCENTILE = 20
FLUX_LAG = 2  # frames: librosa uses one; two catches slower attacks (a bowed note, a swelling bell)
FLUX_FLOOR_DB = 3.0  # a band counts for the flux only this far above its background


@dataclass(frozen=True)
class Envelope:
    start_s: float  # time of frame 0
    level: np.ndarray  # dB above the background
    flux: np.ndarray  # onset strength, dB
    speech: np.ndarray  # silero's speech probability
    above: np.ndarray  # (frames, bands): each band's dB above its background

    def __len__(self) -> int:
        return len(self.level)

    def time(self, frame: float) -> float:
        return self.start_s + frame * FRAME_S

    def frame(self, seconds: float) -> int:
        """The frame nearest ``seconds``, clamped to the stretch."""
        return int(np.clip(round((seconds - self.start_s) / FRAME_S), 0, len(self) - 1))


def envelope(region: Region) -> Envelope:
    bands = 10 * np.log10(region.powers)
    background = np.percentile(
        bands[::3], BACKGROUND_PERCENTILE, axis=0
    )  # every third frame: as good, 3× faster
    above = bands - background
    ratio = np.minimum(region.powers / 10 ** (background / 10), 1e6)  # no band counts past 60 dB
    level = 10 * np.log10(np.mean(ratio, axis=1))
    lifted = np.maximum(above, FLUX_FLOOR_DB)
    rise = np.zeros(len(level), np.float32)
    rise[FLUX_LAG:] = np.mean(np.maximum(lifted[FLUX_LAG:] - lifted[:-FLUX_LAG], 0), axis=1)
    return Envelope(region.start_frame * FRAME_S, level.astype(np.float32), rise, region.speech, above)


def smooth(values: np.ndarray, frames: int) -> np.ndarray:
    """A moving average over ``frames`` (odd), the same length as ``values``."""
    if frames <= 1 or len(values) == 0:
        return values
    kernel = np.ones(frames, np.float32) / frames
    padded = np.pad(values, frames // 2, mode="edge")
    return np.convolve(padded, kernel, mode="valid")
