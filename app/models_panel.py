"""The model manager's work: rows from the registry, downloads and imports in a thread, advice.

Downloads and folder imports share one path (engine/model/download.py with a source), so
both check disk space first, show progress, speed and time left, cancel, and resume.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from app.voice_model import KOKORO, is_voice, kokoro_download, remove_voice, voice_rows
from engine.errors import CancelledError, HeronError, OutOfMemoryError
from engine.model.fit import Machine, choose, cpu_machine, published_figures
from engine.model.registry import MODELS, installed_models, model_dir
from ui.adapter_list import AdapterRow
from ui.model_manager import ModelManager, ModelRow
from ui.window_words import for_window

GB = 1000**3
QUEUED = Qt.ConnectionType.QueuedConnection


def gpu_machine() -> Machine | None:
    """The first NVIDIA GPU, read without importing torch (the window stays fast); None without one."""
    query = ["nvidia-smi", "--query-gpu=memory.free,compute_cap,name", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(query, capture_output=True, text=True, timeout=5, check=True).stdout
        free_mib, capability, name = (part.strip() for part in out.splitlines()[0].split(",", 2))
        return Machine(
            "cuda", int(float(free_mib) * 1024**2), float(capability) >= 8.0, f"GPU memory on {name}"
        )
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def machines_here() -> list[Machine]:
    """Where the engine may run, in the order it tries them: the GPU, then the CPU."""
    gpu = gpu_machine()
    return [gpu, cpu_machine()] if gpu else [cpu_machine()]


def recommend(machines: list[Machine]) -> tuple[str, str, str]:
    """(model, precision, advice) for this machine: the reasoning model where and as the engine
    would load it (engine/model/fit.py), with the speed to expect; precision "" when nothing fits."""
    title = MODELS["think"].title
    try:
        fit = choose(
            [(machine, published_figures(machine.kind, machine.bf16_native)) for machine in machines]
        )
    except OutOfMemoryError as exc:
        return (
            "think",
            "",
            f"Recommended: {title}, but not on this machine as it is. {for_window(exc.message)}",
        )
    where = "GPU" if fit.device.startswith("cuda") else "CPU"
    return (
        "think",
        fit.precision,
        f"Recommended: {title} at {fit.precision} on the {where}: it needs about {fit.needed / GB:.1f} GB "
        f"with room for {fit.audio_s / 60:.0f} minutes of audio. Expected speed: {fit.speed}.",
    )


class ModelsPanel(QObject):
    progress = Signal(int, int, str)
    finished = Signal(str)
    failed = Signal(str)
    served = Signal(object)  # the server's model names, or the line that says why it could not tell
    model_ready = Signal(str)  # imported, or the first model downloaded: the app answers with it now

    def __init__(self, dialog: ModelManager, models_dir: Path, current: str, parent=None, server=None):
        super().__init__(parent)
        self.dialog, self.models_dir, self.current = dialog, models_dir, current
        self.server = server  # (address, token) when the model answers from a server
        self.voice = ""  # the voice in use (its row is marked in use); set by the app
        self.adapter = ""  # the folder of the adapter in use; set by the app
        dialog.adapters.remove_requested.connect(self.remove_adapter)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        dialog.download_requested.connect(self.download)
        dialog.cancel_requested.connect(self.cancel)
        dialog.remove_requested.connect(self.remove)
        dialog.import_requested.connect(self.choose_folder)
        self._importing = False
        self.progress.connect(dialog.show_progress, QUEUED)
        self.finished.connect(self._finished, QUEUED)
        self.failed.connect(self._failed, QUEUED)
        self.served.connect(self._show_served, QUEUED)
        model, precision, advice = recommend(machines_here())
        dialog.set_recommendation(advice)
        self.recommended = (model, precision)
        self.refresh()

    def refresh(self) -> None:
        if self.server is not None:
            threading.Thread(target=self._ask_server, name="heron-served-models", daemon=True).start()
            return
        installed = {m.name: m for m in installed_models(self.models_dir) if m.complete}
        rows = []
        for spec in MODELS.values():
            found = installed.get(spec.name)
            size = (
                f"{found.size_bytes / GB:.1f} GB on disk" if found else f"about {spec.size_gb} GB to download"
            )
            rows.append(ModelRow(spec.name, spec.title, spec.summary, spec.license, size, bool(found),
                                 spec.name == self.current, recommended=spec.name == self.recommended[0]))  # fmt: skip
        rows += voice_rows(self.models_dir, self.voice)
        self.dialog.set_rows(rows)
        self.refresh_adapters()

    def _ask_server(self) -> None:
        import httpx

        from app.engines.remote import RemoteEngine

        server = RemoteEngine(*self.server)
        try:
            self.served.emit(server.models())
        except httpx.HTTPError as exc:
            self.served.emit(
                f"The server at {self.server[0]} cannot be reached ({' '.join(str(exc).split())})."
            )
        finally:
            server.shutdown()

    def _show_served(self, served) -> None:
        """The server's models instead of this computer's: they are what answers."""
        where = self.server[0]
        if isinstance(served, str):
            self.dialog.set_recommendation(served)
            served = []
        else:
            self.dialog.set_recommendation(f"The model answers from the server at {where} (Settings → Engine); "
                                           "downloads and imports here are for answering on this computer.")  # fmt: skip
        rows = [ModelRow(name, name, f"Served by {where}", "as the server's", "on the server", True,
                         name == self.current, importable=False) for name in served]  # fmt: skip
        self.dialog.set_rows(rows)
        self.refresh_adapters()

    def refresh_adapters(self) -> None:
        """The adapters in Heron's adapters folder, with their base model, date and final metrics."""
        from app import paths
        from engine.trainer.adapters import describe_metrics, find_adapters

        in_use = Path(self.adapter).resolve() if self.adapter else None
        rows = [
            AdapterRow(
                name=info.name,
                path=str(info.path),
                base_model=info.base_model or "unknown",
                created=info.created[:10],
                metrics=describe_metrics(info.metrics),
                in_use=info.path.resolve() == in_use,
            )
            for info in find_adapters(paths.adapters_dir())
        ]
        self.dialog.adapters.set_rows(rows)

    def remove_adapter(self, folder: str) -> None:
        from engine.trainer.adapters import METADATA_FILE

        if (Path(folder) / METADATA_FILE).is_file():  # only ever an adapter's folder
            shutil.rmtree(folder, ignore_errors=True)
        self.refresh_adapters()

    def download(self, name: str, source=None) -> None:
        from engine.model.download import download_model

        if name == KOKORO:
            self._start(kokoro_download(self.models_dir), name)
            return
        self._start(lambda report: download_model(MODELS[name], self.models_dir, report, source=source), name)

    def choose_folder(self, name: str) -> None:
        """Import: ask for the folder that holds the selected model's checkpoint."""
        from PySide6.QtWidgets import QFileDialog

        title = MODELS[name].title if name in MODELS else name
        folder = QFileDialog.getExistingDirectory(self.dialog, f"Choose the folder that holds {title}")
        if folder:
            self.import_folder(name, folder)

    def import_folder(self, name: str, folder: str) -> None:
        """Copy a checkpoint in from ``folder``; once done, it is the model in use."""
        from engine.model.sources import FolderSource

        try:
            source = FolderSource(Path(folder))
        except HeronError as exc:
            self.dialog.show_message(exc.message)
            return
        self._importing = True
        self.download(name, source)

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def remove(self, name: str) -> None:
        if is_voice(name):
            remove_voice(name, self.models_dir)
            self.refresh()
            return
        shutil.rmtree(model_dir(MODELS[name], self.models_dir), ignore_errors=True)
        self.refresh()

    def _start(self, work, name: str) -> None:
        self._cancel = threading.Event()
        self.dialog.set_downloading(True)
        self._thread = threading.Thread(target=self._run, args=(work, name, self._cancel), daemon=True)
        self._thread.start()

    def _run(self, work, name: str, cancel: threading.Event) -> None:
        started, first = time.monotonic(), None

        def report(done: int, total: int, filename: str) -> None:
            nonlocal first
            if cancel.is_set():
                raise CancelledError("Download cancelled; it resumes where it stopped next time.")
            first = done if first is None else first
            speed = (done - first) / max(time.monotonic() - started, 1e-3)
            left = f", {(total - done) / speed / 60:.0f} min left" if speed > 0 else ""
            self.progress.emit(
                done, total, f"{done / GB:.2f} of {total / GB:.2f} GB · {speed / 1e6:.1f} MB/s{left}"
            )

        try:
            work(report)
        except HeronError as exc:  # CancelledError included: its message says what happens next
            self.failed.emit(exc.message)
            return
        except OSError as exc:
            self.failed.emit(f"The download stopped: {exc.strerror or exc}.")
            return
        self.finished.emit(name)

    def _finished(self, name: str) -> None:
        self.dialog.set_downloading(False)
        title = MODELS[name].title if name in MODELS else f"The {name.capitalize()} voice"
        use_it = name in MODELS and (self._importing or not self.current)
        self._importing = False
        self.dialog.show_message(f"{title} is ready" + (": Heron answers with it now." if use_it else "."))
        self.refresh()
        if use_it:
            self.model_ready.emit(name)

    def _failed(self, message: str) -> None:
        self._importing = False
        self.dialog.set_downloading(False)
        self.dialog.show_message(message)
        self.refresh()
