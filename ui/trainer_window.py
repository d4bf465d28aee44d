"""The trainer window: a dataset, its validation, the settings, Start / Stop / Resume, a live
loss curve, and "Use this adapter" when done.

Widgets only: no torch, no training here. The window shows what it is told and says what the
user asked for through signals; app/trainer_controller.py does the work. Settings go in and
out as a dict of the trainer's setting names (engine/trainer/config.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.model.precision import LABELS, QUANTIZED, UNQUANTIZED
from ui.loss_chart import LossChart

TRAINING_LABELS = {**LABELS, "nf4": "nf4 (QLoRA, needs a GPU)"}
# Unquantized first, largest first (plain LoRA); then the quantized ones (nf4 trains as QLoRA).
PRECISIONS = (
    ("Automatic (nf4 on a GPU: QLoRA; fp32 on the CPU)", None),
    *((TRAINING_LABELS[p], p) for p in (*reversed(UNQUANTIZED), *QUANTIZED)),
)
FULLY_TRAINED = ["lm_head", "norm"]  # the "train the output layer too" choice (modules_to_save)
READOUTS = ("step", "loss", "eval", "lr", "speed", "left")


class TrainerWindow(QDialog):
    dataset_chosen = Signal(str)  # the JSONL to validate
    out_changed = Signal(str)
    start_requested = Signal()
    stop_requested = Signal()
    resume_requested = Signal()
    use_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Fine-tune")
        self.setAccessibleName("Trainer")
        self.resize(760, 820)
        self._build()
        self.set_running(False)
        self.set_can(start=False, resume=False, use=False)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self._start_if_enabled)

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._dataset_row())
        self.validation = QPlainTextEdit(readOnly=True, accessibleName="Validation results")
        self.validation.setToolTip(
            "What checking the dataset found: every problem with its line, or a summary"
        )
        self.validation.setMaximumHeight(110)
        self.validation.setPlaceholderText(
            "Choose a JSONL dataset: one example a line (audio, question, answer)."
        )
        layout.addWidget(self.validation)
        layout.addWidget(self._settings_box())
        layout.addWidget(self._advanced_box())
        layout.addLayout(self._buttons_row())
        self.chart = LossChart()
        layout.addWidget(self.chart, 1)
        layout.addLayout(self._readouts_row())
        self.status = QLabel(wordWrap=True, accessibleName="Training status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

    def _dataset_row(self) -> QHBoxLayout:
        self.dataset = self._line("Dataset", "The training examples: a JSONL file, one example a line")
        self.dataset.editingFinished.connect(lambda: self.dataset_chosen.emit(self.dataset.text().strip()))
        browse = self._button("Browse…", "Choose the dataset (JSONL)", self.choose_dataset)
        row = QHBoxLayout()
        row.addWidget(QLabel("&Dataset:", buddy=self.dataset))
        row.addWidget(self.dataset, 1)
        row.addWidget(browse)
        return row

    def _settings_box(self) -> QGroupBox:
        box = QGroupBox("Settings")
        form = QFormLayout(box)
        self.model = QComboBox(editable=True, accessibleName="Base model")
        self.model.setToolTip("The model to fine-tune: a registry name or a model folder")
        self.precision = self._combo("Precision", "How the base model is loaded while training", PRECISIONS)
        length = self._length_row()
        self.learning_rate = self._line("Learning rate", "Peak learning rate (AdamW), e.g. 2e-4")
        self.learning_rate.setValidator(QDoubleValidator(1e-9, 0.999, 12, self))
        self.lora_r = self._int(
            "LoRA rank", "Rank of the LoRA update: higher learns more, costs more", 1, 1024
        )
        self.out = self._line("Output folder", "Where the adapter (and its checkpoints) go")
        self.out.editingFinished.connect(lambda: self.out_changed.emit(self.out.text().strip()))
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(self._button("Browse…", "Choose the output folder", self.choose_out))
        form.addRow("Base &model:", self.model)
        form.addRow("&Precision:", self.precision)
        form.addRow(QLabel("Len&gth:", buddy=self.epochs), length)
        form.addRow("&Learning rate:", self.learning_rate)
        form.addRow("LoRA &rank:", self.lora_r)
        form.addRow(QLabel("&Output folder:", buddy=self.out), out_row)
        return box

    def _length_row(self) -> QHBoxLayout:
        """How long to train: a number, in epochs (passes over the examples) or optimizer steps."""
        self.epochs = Epochs(minimum=0.1, maximum=1000, decimals=2, singleStep=0.5, accessibleName="Epochs")
        self.epochs.setToolTip("Passes over the training examples")
        self.max_steps = self._int("Steps", "Optimizer steps to take", 1, 10**7)
        self.length_unit = self._combo(
            "Length in", "Count the length in epochs or in steps", (("epochs", "epochs"), ("steps", "steps"))
        )
        self.length_unit.currentIndexChanged.connect(self._show_length_unit)
        row = QHBoxLayout()
        row.addWidget(self.epochs)
        row.addWidget(self.max_steps)
        row.addWidget(self.length_unit)
        row.addStretch(1)
        self._show_length_unit()
        return row

    def _show_length_unit(self) -> None:
        in_steps = self.length_unit.currentData() == "steps"
        self.epochs.setVisible(not in_steps)
        self.max_steps.setVisible(in_steps)

    def _set_max_steps(self, steps) -> None:
        """0 (or none): the length is in epochs; else in steps."""
        if steps:
            self.max_steps.setValue(int(steps))
        self.length_unit.setCurrentIndex(1 if steps else 0)

    def _advanced_box(self) -> QWidget:
        holder = QWidget()
        outer = QVBoxLayout(holder)
        outer.setContentsMargins(0, 0, 0, 0)
        self.advanced_toggle = QToolButton(
            text="Advanced", checkable=True, accessibleName="Advanced settings"
        )
        self.advanced_toggle.setToolTip("Show or hide the advanced settings")
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced = QGroupBox()
        grid = QGridLayout(self.advanced)
        self.batch_size = self._int("Batch size", "Examples per forward pass", 1, 4096)
        self.grad_accum = self._int("Gradient accumulation", "Forward passes per optimizer step", 1, 4096)
        self.eval_fraction = self._double(
            "Held out", "Share of the examples held out for evaluation", 0, 0.9, 2, 0.05
        )
        self.eval_every = self._int(
            "Evaluate every", "Evaluate every N steps (and at the end); 0: at the end", 0, 10**6
        )
        self.checkpoint_every = self._int(
            "Checkpoint every", "Write a resumable checkpoint every N steps", 0, 10**6
        )
        self.lora_alpha = self._double("LoRA alpha", "The update is scaled by alpha / rank", 0.1, 4096, 1, 1)
        self.lora_dropout = self._double("LoRA dropout", "Dropout on the LoRA input", 0, 0.9, 2, 0.05)
        self.warmup_ratio = self._double(
            "Warm-up", "Share of the steps spent warming the learning rate up", 0, 0.9, 2, 0.01
        )
        self.early_stop_patience = self._int(
            "Early stop", "Stop after N evaluations without improvement; 0: never", 0, 1000
        )
        self.threads = self._int(
            "CPU threads", "CPU threads for training; 0: as many as the computer has", 0, 512
        )
        self.threads.setSpecialValueText("all")
        self.seed = self._int(
            "Seed", "Seed for the split, the data order and the initial weights", 0, 2**31 - 1
        )
        self.train_projector = self._check(
            "Train the audio projector", "Also train the audio projector in full"
        )
        self.train_head = self._check(
            "Train the output layer",
            "Also train lm_head and the final norm in full (needed from random weights)",
        )
        self.gradient_checkpointing = self._check("Gradient checkpointing", "Less memory, slower steps")
        fields = [
            ("Batch size:", self.batch_size), ("Gradient accumulation:", self.grad_accum),
            ("Held out:", self.eval_fraction), ("Evaluate every:", self.eval_every),
            ("Checkpoint every:", self.checkpoint_every), ("Early stop after:", self.early_stop_patience),
            ("LoRA alpha:", self.lora_alpha), ("LoRA dropout:", self.lora_dropout),
            ("Warm-up:", self.warmup_ratio), ("Seed:", self.seed), ("CPU threads:", self.threads),
        ]  # fmt: skip
        for i, (label, widget) in enumerate(fields):
            grid.addWidget(QLabel(label, buddy=widget), i // 2, 2 * (i % 2))
            grid.addWidget(widget, i // 2, 2 * (i % 2) + 1)
        row = (len(fields) + 1) // 2
        for i, box in enumerate((self.train_projector, self.train_head, self.gradient_checkpointing)):
            grid.addWidget(box, row + i // 2, 2 * (i % 2), 1, 2)
        self.advanced.setVisible(False)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        outer.addWidget(self.advanced_toggle)
        outer.addWidget(self.advanced)
        return holder

    def _buttons_row(self) -> QHBoxLayout:
        self.start = self._button("Start", "Start training (Ctrl+Enter)", self.start_requested)
        self.start.setProperty("role", "primary")
        self.stop = self._button(
            "Stop", "Stop after this step; a checkpoint is kept, so Resume goes on", self.stop_requested
        )
        self.resume = self._button(
            "Resume", "Go on from the checkpoint in the output folder", self.resume_requested
        )
        self.use = self._button(
            "Use this adapter", "Answer questions in the main window with this adapter", self.use_requested
        )
        row = QHBoxLayout()
        for button in (self.start, self.stop, self.resume):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.use)
        return row

    def _readouts_row(self) -> QHBoxLayout:
        names = {"step": "Step", "loss": "Loss", "eval": "Held-out loss", "lr": "Learning rate",
                 "speed": "Examples per second", "left": "Time left"}  # fmt: skip
        self.readouts = {key: QLabel("–", accessibleName=names[key], toolTip=names[key]) for key in READOUTS}
        row = QHBoxLayout()
        for key in READOUTS:
            row.addWidget(QLabel(f"{names[key]}:"))
            row.addWidget(self.readouts[key])
            row.addSpacing(8)
        row.addStretch(1)
        return row

    # -- small builders ------------------------------------------------------------------------
    def _line(self, name: str, tip: str) -> QLineEdit:
        return QLineEdit(accessibleName=name, toolTip=tip)

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, toolTip=tip, accessibleName=text.rstrip("…"))
        button.setAutoDefault(False)  # Enter in a text box must not press it (it opened a file picker)
        button.clicked.connect(slot)
        return button

    def _combo(self, name: str, tip: str, items) -> QComboBox:
        combo = QComboBox(accessibleName=name, toolTip=tip)
        for label, value in items:
            combo.addItem(label, value)
        return combo

    def _int(self, name: str, tip: str, low: int, high: int) -> QSpinBox:
        return QSpinBox(minimum=low, maximum=high, accessibleName=name, toolTip=tip)

    def _double(
        self, name: str, tip: str, low: float, high: float, decimals: int, step: float
    ) -> QDoubleSpinBox:
        return QDoubleSpinBox(minimum=low, maximum=high, decimals=decimals, singleStep=step, accessibleName=name,
                              toolTip=tip)  # fmt: skip

    def _check(self, text: str, tip: str) -> QCheckBox:
        return QCheckBox(text, toolTip=tip, accessibleName=text)

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    # -- choosing files ------------------------------------------------------------------------
    def choose_dataset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Training examples", "", "JSONL (*.jsonl);;All files (*)")
        if path:
            self.set_dataset(path)

    def set_dataset(self, path: str) -> None:
        self.dataset.setText(path)
        self.dataset_chosen.emit(path)

    def choose_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the adapter", self.out.text())
        if folder:
            self.set_out(folder)

    def set_out(self, folder: str) -> None:
        self.out.setText(folder)
        self.out_changed.emit(folder)

    # -- settings in and out -------------------------------------------------------------------
    def set_models(self, choices: list[tuple[str, str]]) -> None:
        """(label, value) pairs for the base-model list; any value can also be typed."""
        current = self.model_value()
        self.model.clear()
        for label, value in choices:
            self.model.addItem(label, value)
        if current:
            self._set_model(current)

    def model_value(self) -> str:
        index = self.model.findText(self.model.currentText())
        data = self.model.itemData(index) if index >= 0 else None
        return str(data) if data else self.model.currentText().strip()

    def _set_model(self, value: str) -> None:
        index = self.model.findData(value)
        if index >= 0:
            self.model.setCurrentIndex(index)
        else:
            self.model.setEditText(value)

    def settings(self) -> dict:
        """The form as trainer settings (names of engine/trainer/config.py)."""
        return {
            "data": self.dataset.text().strip(),
            "out": self.out.text().strip(),
            "model": self.model_value(),
            "precision": self.precision.currentData(),
            "epochs": self.epochs.value(),
            "max_steps": self.max_steps.value() if self.length_unit.currentData() == "steps" else 0,
            "learning_rate": _number(self.learning_rate.text()),
            "lora_r": self.lora_r.value(),
            "batch_size": self.batch_size.value(),
            "grad_accum": self.grad_accum.value(),
            "eval_fraction": self.eval_fraction.value(),
            "eval_every": self.eval_every.value(),
            "checkpoint_every": self.checkpoint_every.value(),
            "early_stop_patience": self.early_stop_patience.value(),
            "lora_alpha": self.lora_alpha.value(),
            "lora_dropout": self.lora_dropout.value(),
            "warmup_ratio": self.warmup_ratio.value(),
            "seed": self.seed.value(),
            "threads": self.threads.value(),
            "train_projector": self.train_projector.isChecked(),
            "modules_to_save": list(FULLY_TRAINED) if self.train_head.isChecked() else [],
            "gradient_checkpointing": self.gradient_checkpointing.isChecked(),
        }

    def set_settings(self, values: dict) -> None:
        """Fill the form from trainer settings; names it does not show are left alone."""
        setters = {
            "data": lambda v: self.dataset.setText(v or ""),
            "out": lambda v: self.out.setText(v or ""),
            "model": lambda v: self._set_model(v or ""),
            "precision": lambda v: self.precision.setCurrentIndex(max(0, self.precision.findData(v))),
            "learning_rate": lambda v: self.learning_rate.setText(f"{v:g}"),
            "max_steps": self._set_max_steps,
            "modules_to_save": lambda v: self.train_head.setChecked(bool(v)),
        }
        for name, value in values.items():
            widget = getattr(self, name, None)
            if name in setters:
                setters[name](value)
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QSpinBox | QDoubleSpinBox):
                widget.setValue(value)

    # -- what the controller shows -------------------------------------------------------------
    def show_validation(self, ok: bool, lines: list[str]) -> None:
        self.validation.setPlainText("\n".join(lines))
        self.validation.setProperty("valid", ok)

    def set_running(self, running: bool) -> None:
        self.running = running
        for widget in (self.dataset, self.model, self.precision, self.out, self.advanced):
            widget.setEnabled(not running)
        self.stop.setEnabled(running)

    def set_can(self, start: bool, resume: bool, use: bool) -> None:
        self.start.setEnabled(start and not self.running)
        self.resume.setEnabled(resume and not self.running)
        self.use.setEnabled(use and not self.running)

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def show_readouts(self, values: dict[str, str]) -> None:
        for key, text in values.items():
            self.readouts[key].setText(text)

    def _start_if_enabled(self) -> None:
        if self.start.isEnabled():
            self.start_requested.emit()


class Epochs(QDoubleSpinBox):
    """Epochs as people write them: "3", "0.5", "1.25" (not "3.00")."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt's name)
        return f"{value:g}"


def _number(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        return float("nan")  # the settings check says "learning_rate must be above 0 …"
