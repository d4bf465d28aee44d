"""Opens a recording for the window: peaks for the waveform and something to play, in a worker thread.

A recording up to ``IN_MEMORY_S`` long is decoded whole: the waveform's deepest zoom and the
player use its samples. A longer one is never held: it streams through once to build its peaks
pyramid (or not at all when the pyramid is cached), then the waveform's deepest zoom, the player and
grounding read it from the file a stretch at a time (``FileRecording``). A ten-hour recording
costs its pyramid (about 18 MB), not 2.3 GB of samples.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.audio import SAMPLE_RATE, decode_audio, probe_audio
from engine.audio.decode import stream_audio
from engine.audio.peaks import PeaksBuilder, PeaksCacheError, PeaksPyramid, load_or_compute
from engine.audio.recording import ArrayRecording, FileRecording, Recording
from engine.errors import CancelledError, HeronError
from engine.grounding import ArrayAudio, AudioSource
from engine.grounding.file_audio import FileAudio

IN_MEMORY_S = 30 * 60  # longer recordings are read from their file as needed (115 MB at this length)


class RecordingLoader(QObject):
    progress = Signal(str, float, object)  # label, done, total or None
    loaded = Signal(str, object, object)  # path, Recording (ArrayRecording or FileRecording), peaks pyramid
    failed = Signal(str, str)  # path, one-line message

    def __init__(self, cache_dir: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.cache_dir = cache_dir
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self, path: str) -> None:
        self.cancel()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._load, args=(path, self._cancel), daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()
        if self._thread is not None:
            self._thread.join()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _load(self, path: str, cancel: threading.Event) -> None:
        try:
            info = probe_audio(path)  # a quick, clear refusal of what is not audio
            cache = self.cache_dir / "peaks" / (_cache_key(path) + ".npz")
            cache.parent.mkdir(parents=True, exist_ok=True)
            if (info.duration_s or 0.0) <= IN_MEMORY_S:
                recording, peaks = self._decoded(path, cache, cancel)
            else:
                peaks = _cached(cache) or self._streamed(path, cache, cancel)
                recording = FileRecording(path, peaks.duration)
                peaks = peaks.with_detail(recording)
        except CancelledError:
            return
        except HeronError as exc:
            self.failed.emit(path, exc.message)
            return
        except OSError as exc:
            self.failed.emit(path, f"Cannot open {Path(path).name}: {exc.strerror or exc}.")
            return
        if not cancel.is_set():
            self.loaded.emit(path, recording, peaks)

    def _decoded(self, path: str, cache: Path, cancel: threading.Event) -> tuple[Recording, PeaksPyramid]:
        samples = decode_audio(
            path, progress=self._reporter("Reading the recording"), should_cancel=cancel.is_set
        )
        peaks = load_or_compute(cache, samples, SAMPLE_RATE, progress=self._reporter("Drawing the waveform"))
        return ArrayRecording(samples), peaks

    def _streamed(self, path: str, cache: Path, cancel: threading.Event) -> PeaksPyramid:
        """The pyramid of a long recording, built as it decodes: its samples are never all held."""
        builder = PeaksBuilder(SAMPLE_RATE)
        stream_audio(
            path, builder.add, progress=self._reporter("Reading the recording"), should_cancel=cancel.is_set
        )
        peaks = builder.finish()
        peaks.save(cache)
        return peaks

    def _reporter(self, label: str):
        return lambda done, total: self.progress.emit(label, done, total)


def grounding_source(recording: Recording) -> AudioSource:
    """Where the window's snapper reads a recording: its samples, or its file a stretch at a time."""
    if isinstance(recording, FileRecording):
        return FileAudio(recording.path)
    return ArrayAudio(recording.samples, SAMPLE_RATE)


def _cached(cache: Path) -> PeaksPyramid | None:
    """The pyramid saved for this very file (its key holds path, size and time), if readable."""
    try:
        return PeaksPyramid.load(cache)
    except PeaksCacheError:
        return None


def _cache_key(path: str) -> str:
    stat = Path(path).stat()
    identity = f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(identity.encode()).hexdigest()
