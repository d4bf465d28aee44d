"""The speech-out interface: a voice turns one piece of plain text into samples.

Two voices: ``espeak`` (embedded espeak-ng, offline, instant; the default) and ``kokoro``
(Kokoro-82M, natural-sounding, when its weights are in the models folder). Text given to a
voice is already in spoken form (``engine.speech.spoken``); the pause between pieces is the
caller's (``pause_after``), so that neither voice adds its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.errors import RequestError

VOICES = ("espeak", "kokoro")
SENTENCE_PAUSE_S = 0.25
CLAUSE_PAUSE_S = 0.1


class Voice(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str) -> np.ndarray:
        """Mono float32 samples at ``sample_rate`` (empty for nothing to say)."""
        ...


def open_voice(name: str = "espeak", models_dir: Path | None = None, rate: float = 1.0) -> Voice:
    """A ready voice; ``rate`` scales the speaking speed (1.0 normal, 0.5 to 2.0 sensible).

    Raises ModelMissingError (with the command that fixes it) when Kokoro is not downloaded.
    """
    if not 0.3 <= rate <= 3.0:
        raise RequestError(f"The speaking rate must be between 0.3 and 3.0, not {rate}.")
    if name == "espeak":
        from engine.speech.espeak import EspeakVoice

        return EspeakVoice(rate=rate)
    if name == "kokoro":
        from engine.errors import ModelMissingError
        from engine.speech.kokoro import KokoroVoice, is_installed, kokoro_dir

        if models_dir is None or not is_installed(models_dir):
            raise ModelMissingError(
                "The Kokoro voice is not downloaded: run `heron models download kokoro` "
                "(about 330 MB), or use --voice espeak."
            )
        return KokoroVoice(kokoro_dir(models_dir), rate=rate)
    raise RequestError(f"Unknown voice {name!r}: choose one of {', '.join(VOICES)}.")


def pause_after(piece: str) -> float:
    """Seconds of silence after a piece: a sentence breathes longer than a clause."""
    if re.search(r"[.!?…][\"'”’)\]]*\s*$", piece):
        return SENTENCE_PAUSE_S
    return CLAUSE_PAUSE_S
