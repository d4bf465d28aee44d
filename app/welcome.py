"""The first-run welcome's work behind ``ui/welcome.py``.

It finds the GPU (through nvidia-smi: the window never imports torch), the memory and the disk,
and recommends a model and precision by the rule the engine loads with (``models_panel.recommend``,
``engine/model/fit.py``). The download and the folder import are the model manager's own
(``ModelsPanel``: progress, cancel, resume), run for a manager that stays hidden: the welcome is
their view. The microphone page runs the settings' level meter; "Say hello" speaks with the voice
chosen in the settings. Skipped or finished, the welcome is not shown again by itself.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Signal

from app.models_panel import cpu_machine, gpu_machine, recommend
from app.sound_check import LevelMonitor, device_label, device_names
from engine.errors import HeronError
from engine.model.fit import available_ram
from engine.model.registry import MODELS, installed_models
from ui.welcome import MachineFacts, WelcomeDialog

DONE_KEY = "welcome/done"
NO_MODEL = (
    "No model yet: your question is kept and asked as soon as a model is ready. "
    "Download or import one in Tools → Models."
)
HELLO = "Hello! I am Heron. If you can hear me, your speaker works."
GB = 1000**3
QUEUED = Qt.ConnectionType.QueuedConnection


def welcome_due(store: QSettings) -> bool:
    """True until the welcome has been finished or skipped once."""
    return str(store.value(DONE_KEY, "false")).lower() not in ("1", "true")


def machine_facts(models_dir: Path) -> tuple[MachineFacts, str]:
    """What the first page shows, and the name of the recommended model."""
    gpu = gpu_machine()
    model, _precision, advice = recommend([gpu, cpu_machine()] if gpu else [cpu_machine()])
    spec = MODELS[model]
    disk = next(p for p in [models_dir, *models_dir.parents] if p.exists())
    facts = MachineFacts(
        gpu=_gpu_line(gpu),
        ram=_ram_line(),
        recommendation=advice,
        model_title=spec.title,
        download=f"About {spec.size_gb} GB to download; {shutil.disk_usage(disk).free / GB:.1f} GB free on disk.",
        installed=any(m.complete for m in installed_models(models_dir)),
    )
    return facts, model


def _device_line(chosen: str, found: list[str]) -> str:
    """The device as Settings names it: the chosen one, else the system's default."""
    if not found:
        return "none found"
    return device_label(chosen) if chosen else "the system default (Tools → Settings → Sound to choose)"


def _gpu_line(gpu) -> str:
    if gpu is None:
        return "no NVIDIA GPU found: Heron runs on the CPU (slowly), or answers from a server"
    name = gpu.where.removeprefix("GPU memory on ")
    return f"{name}, {gpu.available / GB:.1f} GB free"


def _ram_line() -> str:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    free = available_ram()
    return f"{free / GB:.1f} GB available of {total / GB:.1f} GB" if free else f"{total / GB:.1f} GB"


class WelcomeFlow(QObject):
    model_ready = Signal(str)  # a model downloaded or imported: the app answers with it from now on
    server_requested = Signal()  # the person would rather use a server: the app opens Settings
    closed = Signal()
    _said = Signal(str)  # from the hello's thread

    def __init__(self, window, settings, store: QSettings, models_dir: Path):
        super().__init__(window)
        from app.models_panel import ModelsPanel
        from ui.model_manager import ModelManager

        self.settings, self.store, self.models_dir = settings, store, models_dir
        self.dialog = WelcomeDialog(window)
        facts, self.model = machine_facts(models_dir)
        self.dialog.set_facts(facts)
        self.panel = ModelsPanel(ModelManager(self.dialog), models_dir, settings.model, self.dialog)
        self.monitor = LevelMonitor(self.dialog)
        self._connect()

    def _connect(self) -> None:
        dialog, panel = self.dialog, self.panel
        panel.progress.connect(dialog.set_progress, QUEUED)
        panel.finished.connect(self._ready, QUEUED)
        panel.failed.connect(self._failed, QUEUED)
        dialog.download_requested.connect(self._download)
        dialog.import_requested.connect(self._import)
        dialog.cancel_requested.connect(panel.cancel)
        dialog.server_requested.connect(self.server_requested)
        dialog.speaker_test_requested.connect(self._say_hello)
        dialog.page_shown.connect(self._page_shown)
        dialog.finished.connect(self._closed)
        self.monitor.level.connect(dialog.set_level)
        self.monitor.failed.connect(dialog.set_sound_status)
        self._said.connect(dialog.set_sound_status, QUEUED)

    def open(self) -> None:
        self.dialog.open()

    # -- the model ---------------------------------------------------------------------------------
    def _download(self) -> None:
        self.dialog.set_downloading(True)
        self.panel.download(self.model)

    def _import(self, folder: str) -> None:
        from engine.model.sources import FolderSource

        try:
            source = FolderSource(Path(folder))
        except HeronError as exc:
            self.dialog.set_model_status(exc.message)
            return
        self.dialog.set_downloading(True)
        self.panel.download(self.model, source)

    def _ready(self, name: str) -> None:
        self.dialog.set_downloading(False)
        self.dialog.set_model_status(f"{MODELS[name].title} is ready: Heron answers with it.")
        self.model_ready.emit(name)

    def _failed(self, message: str) -> None:
        self.dialog.set_downloading(False)
        self.dialog.set_model_status(message)

    # -- sound -------------------------------------------------------------------------------------
    def _page_shown(self, page: str) -> None:
        if page != "sound":
            self.monitor.stop()
            return
        inputs, outputs = device_names()
        self.dialog.set_devices(_device_line(self.settings.input_device, inputs),
                                _device_line(self.settings.output_device, outputs))  # fmt: skip
        if not inputs:
            self.dialog.set_sound_status("No microphone was found: connect one, or ask about files only.")
            return
        self.monitor.start(self.settings.input_device or None)

    def _say_hello(self) -> None:
        threading.Thread(target=self._speak, name="heron-welcome-hello", daemon=True).start()

    def _speak(self) -> None:
        from app.self_test import open_voice_or_espeak

        try:
            import sounddevice

            voice, notice = open_voice_or_espeak(self.settings.voice)
            samples = voice.synthesize(HELLO)
            sounddevice.play(samples, voice.sample_rate, device=self.settings.output_device or None)
            sounddevice.wait()  # the stream closes here, not behind the app's back at exit
        except Exception as exc:  # no PortAudio, no device, a voice that fails: said, not raised
            self._said.emit(f"Heron could not speak: {' '.join(str(exc).split())}")
            return
        self._said.emit(f'You should hear "{HELLO}"{notice} If not, choose the speaker in Tools → Settings.')

    def _closed(self, _result: int) -> None:
        self.monitor.stop()
        self.panel.cancel()  # a download under way stops; it resumes from the model manager
        self.store.setValue(DONE_KEY, True)
        self.store.sync()
        self.closed.emit()


class QuestionBeforeModel:
    """A question asked before any model is chosen: kept, said so, and asked once one is ready."""

    def __init__(self, controller):
        self.controller = controller
        self.question: str | None = None

    def hold(self, question: str) -> None:
        self.question = question
        self.controller.window.banner.show_message(NO_MODEL)

    def model_ready(self) -> None:
        """A model is chosen: the notice goes, and the kept question is asked."""
        banner = self.controller.window.banner
        if banner.text.text() == NO_MODEL:
            banner.hide()
        question, self.question = self.question, None
        if question and not self.controller.ask(question):
            self.controller.window.input.text.setText(question)  # refused for now: kept in the box
