"""Decoded recordings kept between requests, and each turn's audio as the caches know it.

A follow-up question about an hour-long recording must not decode it again: ``AudioCache``
keeps decoded samples by (path, size, mtime), least recently used dropped first, and remembers
every recording's length after its samples are gone, so that a follow-up need not probe the
file again to know whether it is a long recording.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np

from engine.audio import SAMPLE_RATE, decode_audio, probe_audio
from engine.events import Event, Stage
from engine.inference.contexts import audio_key_of_samples
from engine.requests import TurnSpec
from engine.streams import with_progress

AUDIO_CACHE_BYTES = 2 * 1024**3  # decoded recordings kept for follow-up questions
MAX_DURATIONS = 1024  # recordings whose length is remembered after their samples left the cache


@dataclass(frozen=True)
class TurnAudio:
    """A turn and its audio's identity, worked out once per request."""

    spec: TurnSpec
    file: tuple | None  # AudioCache.key of a recording on disk; None for samples or a missing file
    key: str | None  # what a cached context remembers the audio by; None for no audio

    @property
    def has_audio(self) -> bool:
        return bool(self.spec.audio_path) or self.spec.audio is not None


class AudioCache:
    def __init__(self, max_bytes: int = AUDIO_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._seconds: OrderedDict[tuple, float] = OrderedDict()

    @staticmethod
    def identify(spec: TurnSpec) -> TurnAudio:
        """The turn's audio identity: the file looked at (or the samples hashed) once."""
        if spec.audio_path:
            file = _file_key(spec.audio_path) if os.path.isfile(spec.audio_path) else None
            return TurnAudio(spec, file, "file:" + repr(file) if file else None)
        return TurnAudio(spec, None, audio_key_of_samples(spec.audio))

    def samples(
        self, turn: TurnAudio, should_cancel: Callable[[], bool]
    ) -> Generator[Event, None, np.ndarray | None]:
        """The turn's samples, decoded (with progress) or taken from the cache."""
        if not turn.spec.audio_path:
            return turn.spec.audio
        cached = self._get(turn.file) if turn.file else None
        if cached is not None:
            return cached
        samples = yield from with_progress(
            Stage.DECODE_AUDIO, decode_audio, turn.spec.audio_path, should_cancel=should_cancel
        )
        if turn.file:
            self._put(turn.file, samples)
        return samples

    def seconds(self, turn: TurnAudio) -> float:
        """The length of the turn's recording, probed only the first time."""
        known = self._seconds.get(turn.file) if turn.file else None
        if known is not None:
            return known
        seconds = probe_audio(turn.spec.audio_path).duration_s or 0.0
        if turn.file:
            self._note_seconds(turn.file, seconds)
        return seconds

    def _get(self, key: tuple) -> np.ndarray | None:
        if key in self._items:
            self._items.move_to_end(key)
        return self._items.get(key)

    def _put(self, key: tuple, audio: np.ndarray) -> None:
        self._items[key] = audio
        self._note_seconds(key, len(audio) / SAMPLE_RATE)
        while sum(a.nbytes for a in self._items.values()) > self.max_bytes and len(self._items) > 1:
            self._items.popitem(last=False)

    def _note_seconds(self, key: tuple, seconds: float) -> None:
        self._seconds[key] = seconds
        self._seconds.move_to_end(key)
        while len(self._seconds) > MAX_DURATIONS:
            self._seconds.popitem(last=False)


def _file_key(path: str) -> tuple:
    stat = os.stat(path)
    return (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
