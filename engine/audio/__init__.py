"""Audio files in, float32 mono 16 kHz samples out (see decode.py), with errors a person can act on."""

from engine.audio.decode import CancelFn, ProgressFn, decode_audio
from engine.audio.length import MIN_AUDIO_S, check_samples
from engine.audio.probe import AudioInfo, probe_audio
from engine.audio.resample import SAMPLE_RATE
from engine.errors import AudioError

__all__ = [
    "MIN_AUDIO_S",
    "SAMPLE_RATE",
    "AudioError",
    "AudioInfo",
    "CancelFn",
    "ProgressFn",
    "check_samples",
    "decode_audio",
    "probe_audio",
]
