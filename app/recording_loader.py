"""Opens a recording for the window: decode, peaks for the waveform, in a worker thread."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.audio import SAMPLE_RATE, decode_audio, probe_audio
from engine.audio.peaks import load_or_compute
from engine.errors import CancelledError, HeronError


class RecordingLoader(QObject):
    progress = Signal(str, float, object)  # label, done, total or None
    loaded = Signal(str, object, object)  # path, samples, peaks pyramid
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
            probe_audio(path)  # a quick, clear refusal of what is not audio
            samples = decode_audio(
                path,
                progress=lambda done, total: self.progress.emit("Reading the recording", done, total),
                should_cancel=cancel.is_set,
            )
            cache = self.cache_dir / "peaks" / (_cache_key(path) + ".npz")
            cache.parent.mkdir(parents=True, exist_ok=True)
            peaks = load_or_compute(cache, samples, SAMPLE_RATE,
                                    progress=lambda d, t: self.progress.emit("Drawing the waveform", d, t))  # fmt: skip
        except CancelledError:
            return
        except HeronError as exc:
            self.failed.emit(path, exc.message)
            return
        except OSError as exc:
            self.failed.emit(path, f"Cannot open {Path(path).name}: {exc.strerror or exc}.")
            return
        if not cancel.is_set():
            self.loaded.emit(path, samples, peaks)


def _cache_key(path: str) -> str:
    stat = Path(path).stat()
    identity = f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(identity.encode()).hexdigest()
