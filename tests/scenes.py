"""Scenes with events at known times, for the grounding tests: noise, hits, tones and speech."""

from __future__ import annotations

import numpy as np

from tests import media

RATE = 16000


def noise(seconds: float, rms: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(0, rms, round(seconds * RATE))).astype(np.float32)


def put(scene: np.ndarray, at_s: float, sound: np.ndarray) -> np.ndarray:
    start = round(at_s * RATE)
    scene[start : start + len(sound)] += sound[: len(scene) - start]
    return scene


def click(seed: int = 1) -> np.ndarray:
    """A knock-like hit: a 30 ms burst that dies away at once."""
    n = round(0.03 * RATE)
    burst = np.random.default_rng(seed).normal(0, 1, n) * np.exp(-np.arange(n) / (0.005 * RATE))
    return (0.5 * burst).astype(np.float32)


def tone(seconds: float, freq: float = 1000.0, amplitude: float = 0.3) -> np.ndarray:
    wave = media.tone(freq, seconds, RATE, amplitude=amplitude)
    ramp = np.minimum(1.0, np.minimum(np.arange(len(wave)), np.arange(len(wave))[::-1]) / (0.005 * RATE))
    return (wave * ramp).astype(np.float32)


def spoken(text: str) -> np.ndarray:
    """eSpeak's phrase from its first audible sample (its own leading silence cut)."""
    samples = media.speech(text, RATE)
    first = np.flatnonzero(np.abs(samples) > 0.02 * np.abs(samples).max())[0]
    return samples[first:] * 0.5
