"""What the trainer window's actions do: validate the dataset, start, stop and resume a training
run in its own process, stream its events into the window, and hand a finished adapter to the app.

Validation reads and decodes every example, so it runs in a thread; training runs in a child
process (app/trainer_client.py), its events pumped by a thread into queued signals. The form's
settings are remembered, so that a run cut short by a crash or a closed app can be resumed later.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QMessageBox

from app import paths
from app.trainer_client import TrainingClient
from engine.errors import HeronError
from engine.events import Done, Error, Event, Finish, Progress, stage_label
from engine.trainer.adapters import METADATA_FILE, PEFT_FILES
from engine.trainer.checkpoint import checkpoint_summary, has_checkpoint
from engine.trainer.events import CheckpointSaved, TrainEval, TrainProgress, TrainStart
from ui.trainer_window import TrainerWindow

QUEUED = Qt.ConnectionType.QueuedConnection
STORE_KEY = "trainer/settings"


class TrainerController(QObject):
    event = Signal(object)  # the run's events, from the pump thread
    validated = Signal(str, bool, object)  # dataset path, valid, lines to show
    adapter_chosen = Signal(str)  # "Use this adapter": the adapter's folder
    training_started = Signal()

    def __init__(self, window: TrainerWindow, store, default_model: str = "", parent=None):
        super().__init__(parent)
        self.window, self.store = window, store
        self.client = TrainingClient(log_dir=str(paths.logs_dir()))
        self.valid_data: str | None = None  # the dataset that passed validation
        self.proposed_out: str | None = None  # the output folder the app proposed (replaced on a new dataset)
        self.checkpoint_step = 0
        self._pump: threading.Thread | None = None
        self.confirm = self._ask_user  # (title, question) -> bool; a test may answer instead
        self._connect()
        window.set_models(model_choices(default_model))
        self._restore(default_model)

    def _connect(self) -> None:
        w = self.window
        w.dataset_chosen.connect(self.validate)
        w.out_changed.connect(lambda _: self.refresh())
        w.start_requested.connect(self.start)
        w.stop_requested.connect(self.stop)
        w.resume_requested.connect(self.resume)
        w.use_requested.connect(self.use)
        self.event.connect(self.on_event, QUEUED)
        self.validated.connect(self._validated, QUEUED)

    def _restore(self, default_model: str) -> None:
        from engine.trainer.config import TrainConfig

        values = {**TrainConfig().to_dict(), "model": default_model or "instruct"}
        with contextlib.suppress(ValueError):  # damaged: the defaults do
            values.update(json.loads(self.store.value(STORE_KEY, "") or "{}"))
        self.window.set_settings(values)
        if values.get("data"):
            self.validate(values["data"])
        self.refresh()

    @property
    def running(self) -> bool:
        return self._pump is not None and self._pump.is_alive()

    # -- the dataset -----------------------------------------------------------------------------
    @Slot(str)
    def validate(self, path: str) -> None:
        self.valid_data = None
        self.refresh()
        if not path:
            self.window.show_validation(False, [])
            return
        self.window.show_validation(False, [f"Checking {Path(path).name}…"])
        threading.Thread(target=self._validate, args=(path,), name="heron-validate", daemon=True).start()

    def _validate(self, path: str) -> None:
        from engine.trainer.dataset import read_dataset, summary_lines

        try:
            report = read_dataset(Path(path).expanduser())
        except HeronError as exc:
            ok, lines = False, [exc.message]
        else:
            head = f"{len(report.problems)} problem(s): fix them and choose the file again."
            ok, lines = (
                report.ok,
                _for_people(summary_lines(report, words_note="")) if report.ok else [head, *report.problems],
            )
        with contextlib.suppress(RuntimeError):  # the window was closed while the file was checked
            self.validated.emit(path, ok, lines)

    @Slot(str, bool, object)
    def _validated(self, path: str, ok: bool, lines: list[str]) -> None:
        if path != self.window.dataset.text().strip():
            return  # another file was chosen meanwhile
        self.window.show_validation(ok, lines)
        self.valid_data = path if ok else None
        out = self.window.out.text().strip()
        if ok and (not out or out == self.proposed_out):
            self.proposed_out = str(free_folder(paths.adapters_dir() / Path(path).stem))
            self.window.out.setText(self.proposed_out)
        self.refresh()

    # -- buttons ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        out = self.window.out.text().strip()
        data_ok = bool(self.valid_data) and self.valid_data == self.window.dataset.text().strip()
        self.window.set_can(
            start=data_ok and bool(out), resume=bool(out) and has_checkpoint(Path(out)), use=is_adapter(out)
        )

    @Slot()
    def start(self) -> None:
        settings = self.window.settings()
        out = Path(settings["out"]).expanduser()
        resume = "auto"
        if has_checkpoint(out) or (out / METADATA_FILE).is_file():
            what = "a checkpoint of an unfinished run" if has_checkpoint(out) else "a trained adapter"
            if not self.confirm("Start over?", f"{out} holds {what}. Start over and replace it?"):
                return
            resume = "never"
        self._launch(settings, resume)

    @Slot()
    def resume(self) -> None:
        """Go on from the checkpoint with the settings it was written with."""
        out = self.window.out.text().strip()
        summary = checkpoint_summary(Path(out)) or {}
        settings = summary.get("config")
        if not settings:
            self.window.show_status(f"No readable checkpoint in {out}: start a new run instead.")
            self.refresh()
            return
        self.window.set_settings(settings)
        self.checkpoint_step = int(summary.get("state", {}).get("step", 0))
        self._launch(settings, "require")

    def _launch(self, settings: dict, resume: str) -> None:
        from engine.model.registry import resolve_model
        from engine.trainer.config import TrainConfig

        try:
            TrainConfig().with_overrides(settings).validate()
            model = str(resolve_model(settings["model"], paths.models_dir()).path)
        except HeronError as exc:
            self.window.show_status(exc.message)
            return
        self.store.setValue(STORE_KEY, json.dumps(settings))
        if resume == "require":
            self.window.chart.truncate(self.checkpoint_step)
        else:
            self.window.chart.clear()
            self.checkpoint_step = 0
        self.client.start({**settings, "model": model}, resume)
        self.window.set_running(True)
        self.refresh()
        self.window.show_status("Starting the training process…")
        self._pump = threading.Thread(target=self._pump_events, name="heron-trainer-pump", daemon=True)
        self._pump.start()
        self.training_started.emit()

    def _pump_events(self) -> None:
        for event in self.client.events():
            self.event.emit(event)

    @Slot()
    def stop(self) -> None:
        self.client.stop()
        self.window.stop.setEnabled(False)
        self.window.show_status("Stopping after this step; a checkpoint is being written…")

    @Slot()
    def use(self) -> None:
        out = self.window.out.text().strip()
        if is_adapter(out):
            self.adapter_chosen.emit(str(Path(out).expanduser().resolve()))
            self.window.show_status(f"The main window now answers with {Path(out).name}.")

    # -- the run's events ----------------------------------------------------------------------
    @Slot(object)
    def on_event(self, event: Event) -> None:
        w = self.window
        if isinstance(event, Progress):
            count = f" {event.done:g}/{event.total:g}" if event.total and event.stage != "load_model" else ""
            w.show_status(f"{stage_label(event.stage)}…{count}")
        elif isinstance(event, TrainStart):
            w.chart.truncate(event.resumed_step)
            w.chart.set_total(event.total_steps)
            resumed = f", going on from step {event.resumed_step}" if event.resumed_step else ""
            w.show_status(
                f"Training {event.trainable_params:,} parameters on {event.train_examples} examples "
                f"({event.eval_examples} held out) for {event.total_steps} steps{resumed}."
            )
        elif isinstance(event, TrainProgress):
            w.chart.add_train(event.step, event.loss)
            w.show_readouts(readouts(event))
        elif isinstance(event, TrainEval):
            w.chart.add_eval(event.step, event.eval_loss)
            w.show_readouts({"eval": f"{event.eval_loss:.4f}"})
        elif isinstance(event, CheckpointSaved):
            self.checkpoint_step = event.step
        elif isinstance(event, Done):
            self._finished(event.stats)
        elif isinstance(event, Error):
            self._failed(event)

    def _finished(self, stats: dict) -> None:
        self.window.set_running(False)
        if stats.get("finish") == Finish.CANCELLED:
            at = f" at step {self.checkpoint_step}" if self.checkpoint_step else ""
            self.window.show_status(f"Stopped{at}. Resume goes on from the checkpoint.")
        else:
            why = (
                " (early stop: the held-out loss stopped improving)"
                if stats.get("finish") == Finish.EARLY_STOP
                else ""
            )
            self.window.show_status(
                f"Done{why}: {_length(stats)}, training loss {_loss(stats.get('train_loss'))}, "
                f"held-out loss {_loss(stats.get('eval_loss'))}. Adapter saved in {stats.get('adapter')}."
            )
        self.refresh()

    def _failed(self, error: Error) -> None:
        self.window.set_running(False)
        out = self.window.out.text().strip()
        if error.kind == "training_crashed":
            step = (checkpoint_summary(Path(out)) or {}).get("state", {}).get("step")
            again = f"Resume goes on from the checkpoint of step {step}." if step else "Start again."
            self.window.show_status(f"{error.message} {again}")
        else:
            self.window.show_status(error.message)
        self.refresh()

    # -- closing ---------------------------------------------------------------------------------
    def shutdown(self, wait_s: float = 10.0) -> None:
        """The app is closing: stop the run safely (a checkpoint), or kill it after ``wait_s``."""
        if not self.running:
            return
        self.client.stop()
        self._pump.join(wait_s)
        if self._pump.is_alive():
            self.client.kill()  # the last periodic checkpoint stays: Resume goes on from it
            self._pump.join(5.0)

    def _ask_user(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self.window, title, question)
        return answer == QMessageBox.StandardButton.Yes


def readouts(event: TrainProgress) -> dict[str, str]:
    from ui.timefmt import clock

    return {
        "step": f"{event.step}/{event.total_steps}",
        "loss": f"{event.loss:.4f}",
        "eval": f"{event.eval_loss:.4f}" if event.eval_loss is not None else "–",
        "lr": f"{event.learning_rate:.2e}",
        "speed": f"{event.examples_per_s:.1f}",
        "left": clock(event.seconds_left) if event.seconds_left is not None else "–",
    }


def model_choices(current: str) -> list[tuple[str, str]]:
    """The base models to offer: the installed ones, and the one the app answers with."""
    from engine.model.registry import MODELS, installed_models

    choices = []
    for found in installed_models(paths.models_dir()):
        if found.complete:
            label = MODELS[found.name].title if found.name in MODELS else f"{found.name} (folder)"
            choices.append((label, found.name if found.name in MODELS else str(found.path)))
    if current and current not in [value for _, value in choices]:
        choices.insert(0, (f"{Path(current).name} (in use)", current))
    return choices


def is_adapter(out: str) -> bool:
    folder = Path(out).expanduser() if out else None
    return bool(folder) and all((folder / name).is_file() for name in (*PEFT_FILES, METADATA_FILE))


def free_folder(wanted: Path) -> Path:
    """``wanted``, or ``wanted-2``, ``wanted-3``… : the first that does not exist yet."""
    folder, n = wanted, 2
    while folder.exists():
        folder, n = wanted.with_name(f"{wanted.name}-{n}"), n + 1
    return folder


def _loss(value) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "–"


def _for_people(lines: list[str]) -> list[str]:
    """The dataset summary without the fingerprint (a SHA-256 is for the run's records, not a person)."""
    return [line for line in lines if not line.strip().startswith("sha256:")]


def _length(stats: dict) -> str:
    """ "3 epochs (12 steps)": what was asked for, in its words, and the steps it took."""
    steps, epochs = stats.get("steps") or 0, stats.get("epochs")
    counted = f"{steps} step" + ("" if steps == 1 else "s")
    if not isinstance(epochs, int | float):
        return counted
    passes = f"{epochs:.2f}".rstrip("0").rstrip(".")
    return f"{passes} epoch" + ("" if passes == "1" else "s") + f" ({counted})"
