"""The default voice: espeak-ng inside this process, from the library ``espeakng-loader`` bundles.

No system package and no model download: the library and its data ship in the wheel, and a
sentence takes a few milliseconds. The library keeps global state (one voice, one callback),
so every call holds one process-wide lock. No pause is added after the text (espeakENDPAUSE
unset): the speaker decides the pause between pieces.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from engine.errors import HeronError

_SYNCHRONOUS = 0x02  # AUDIO_OUTPUT_SYNCHRONOUS: espeak_Synth returns when all audio was delivered
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _VOLUME, _PITCH = 1, 2, 3
_BUFFER_MS = 100
DEFAULT_WPM = 175  # espeak-ng's own default speaking rate
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_lock = threading.Lock()
_library: ctypes.CDLL | None = None
_sample_rate = 0


class SpeechError(HeronError):
    kind = "speech"


def _load() -> tuple[ctypes.CDLL, int]:
    global _library, _sample_rate
    if _library is None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise SpeechError(
                "The espeak voice needs the espeakng-loader package: run `pip install espeakng-loader`."
            ) from exc
        library = ctypes.CDLL(espeakng_loader.get_library_path())
        library.espeak_Initialize.restype = ctypes.c_int
        library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        library.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        library.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        data = espeakng_loader.get_data_path().encode()
        rate = library.espeak_Initialize(_SYNCHRONOUS, _BUFFER_MS, data, 0)
        if rate <= 0:
            raise SpeechError(
                "espeak-ng could not start (its data folder is missing): reinstall espeakng-loader."
            )
        _library, _sample_rate = library, rate
    return _library, _sample_rate


class EspeakVoice:
    """espeak-ng speaking ``language`` at ``rate`` times its normal speed."""

    name = "espeak"

    def __init__(self, language: str = "en-us", rate: float = 1.0, pitch: int = 50):
        self.language = language
        self.wpm = max(80, min(450, round(DEFAULT_WPM * rate)))
        self.pitch = pitch
        _, self.sample_rate = _load()

    def synthesize(self, text: str) -> np.ndarray:
        """Float32 mono samples at ``self.sample_rate``; empty for empty text."""
        if not text.strip():
            return np.zeros(0, np.float32)
        library, _ = _load()
        blocks: list[np.ndarray] = []

        def collect(wav, count, _events) -> int:
            if count > 0:
                blocks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            return 0

        callback = _CALLBACK(collect)  # kept alive for the whole call
        encoded = text.encode("utf-8")
        with _lock:
            library.espeak_SetSynthCallback(callback)
            if library.espeak_SetVoiceByName(self.language.encode()) != 0:
                raise SpeechError(f"espeak-ng has no voice for {self.language!r}: try en-us.")
            library.espeak_SetParameter(_RATE, self.wpm, 0)
            library.espeak_SetParameter(_PITCH, self.pitch, 0)
            status = library.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
        if status != 0:
            raise SpeechError(f"espeak-ng failed to speak (status {status}).")
        if not blocks:
            return np.zeros(0, np.float32)
        return (np.concatenate(blocks).astype(np.float32) / 32768.0).astype(np.float32)
