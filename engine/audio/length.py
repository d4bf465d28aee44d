"""The shortest audio Heron can hear.

AF-Next's encoder makes one audio token of each 40 ms; a clip of 20 ms or less makes none, and
the model then fails deep inside transformers (an IndexError). Audio shorter than one token's
worth is refused with this one message, wherever it comes in: a file when it is opened or
decoded, samples (a spoken question) when they reach the engine.
"""

from __future__ import annotations

import numpy as np

from engine.audio.resample import SAMPLE_RATE
from engine.errors import AudioError

MIN_AUDIO_S = 0.04  # one audio token
MIN_SAMPLES = round(MIN_AUDIO_S * SAMPLE_RATE)


def too_short(seconds: float) -> str | None:
    """Why audio this long cannot be heard, or None when it can."""
    if seconds >= MIN_AUDIO_S:
        return None
    return f"it is too short ({seconds * 1000:.0f} ms; Heron needs at least {MIN_AUDIO_S * 1000:.0f} ms of audio)"


def check_samples(samples: np.ndarray, what: str = "the audio") -> None:
    """AudioError unless ``samples`` (16 kHz) are long enough to hear; ``what`` names them."""
    reason = too_short(len(samples) / SAMPLE_RATE)
    if reason is not None:
        raise AudioError(f"Cannot hear {what}: {reason}.")
