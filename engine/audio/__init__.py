"""Audio files in, float32 mono 16 kHz samples out (see decode.py), with errors a person can act on."""

from engine.audio.decode import CancelFn, ProgressFn, decode_audio
from engine.audio.probe import AudioInfo, probe_audio
from engine.audio.resample import SAMPLE_RATE
from engine.errors import AudioError

__all__ = ["SAMPLE_RATE", "AudioError", "AudioInfo", "CancelFn", "ProgressFn", "decode_audio", "probe_audio"]
