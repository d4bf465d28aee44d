"""The speech-out interface: a voice turns one piece of plain text into samples.

Three kinds of voice: ``piper`` (natural, ONNX, shipped in the install: the default; more Piper
voices as ``piper:<stem>`` once added), ``kokoro`` (Kokoro-82M, natural, when its weights are in
the models folder and its optional packages are installed) and ``espeak`` (embedded espeak-ng,
robotic, instant, always there). ``engine.speech.voices`` lists them and falls back along them.
Text given to a voice is already in spoken form (``engine.speech.spoken``); the pause between
pieces is the caller's (``pause_after``), so that no voice adds its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.errors import RequestError

VOICES = ("piper", "kokoro", "espeak")  # piper:<stem> too
SENTENCE_PAUSE_S = 0.25
CLAUSE_PAUSE_S = 0.1


class Voice(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str) -> np.ndarray:
        """Mono float32 samples at ``sample_rate`` (empty for nothing to say)."""
        ...


def open_voice(
    name: str = "piper", models_dir: Path | None = None, rate: float = 1.0, voices_dir: Path | None = None
) -> Voice:
    """A ready voice; ``rate`` scales the speaking speed (1.0 normal, 0.5 to 2.0 sensible).

    Raises ModelMissingError (with the command that fixes it) when the voice is not installed,
    ModelError when its files do not load, RequestError for an unknown name or rate.
    """
    if not 0.3 <= rate <= 3.0:
        raise RequestError(f"The speaking rate must be between 0.3 and 3.0, not {rate}.")
    if name == "espeak":
        from engine.speech.espeak import EspeakVoice

        return EspeakVoice(rate=rate)
    if name == "kokoro":
        return _open_kokoro(models_dir, rate)
    if name == "piper" or name.startswith("piper:"):
        from engine.speech.piper import PiperVoice
        from engine.speech.piper_voices import find_piper

        return PiperVoice(find_piper(name, voices_dir), rate, name)
    raise RequestError(f"Unknown voice {name!r}: choose one of {', '.join(VOICES)} or piper:NAME.")


def _open_kokoro(models_dir: Path | None, rate: float) -> Voice:
    import importlib.util

    from engine.errors import ModelMissingError
    from engine.speech.kokoro import KokoroVoice, is_installed, kokoro_dir

    if importlib.util.find_spec("kokoro") is None:
        raise ModelMissingError(
            'The Kokoro voice needs its optional packages: run `pip install "heron[kokoro]"`, '
            "then `heron models download kokoro`."
        )
    if models_dir is None or not is_installed(models_dir):
        raise ModelMissingError(
            "The Kokoro voice is not downloaded: run `heron models download kokoro` (about 330 MB)."
        )
    return KokoroVoice(kokoro_dir(models_dir), rate=rate)


def pause_after(piece: str) -> float:
    """Seconds of silence after a piece: a sentence breathes longer than a clause."""
    if re.search(r"[.!?…][\"'”’)\]]*\s*$", piece):
        return SENTENCE_PAUSE_S
    return CLAUSE_PAUSE_S
