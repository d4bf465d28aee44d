"""Settings: model and compute, where the model runs (this computer or a server), sound devices with a live level and a test sound, voice, listening, theme.

Plain values in, plain values out: the app reads and stores them (QSettings), says which
choices this computer has (devices by recognisable names, a GPU only where there is one), and
serves the live parts (level meter, test sound) through signals. "Think" is not here: it sits
beside the question box, where it is used.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QTabWidget,
    QWidget,
)

from engine.model import precision

PRECISIONS = [
    ("Automatic (the largest that fits in free memory)", ""),
    *((precision.LABELS[p], p) for p in precision.PRECISIONS),
]
COMPUTE = [("Automatic", ""), ("CPU", "cpu")]  # until the app says what this computer has
Choices = list[tuple[str, str]]  # (what the person reads, the value stored)
ENGINES = [("On this computer", "local"), ("A server (heron serve, or OpenAI-compatible)", "server")]
THEMES = [("Follow the system", "system"), ("Light", "light"), ("Dark", "dark")]
# Until the app lists the installed voices (set_voices): the ones every install has, and Kokoro.
VOICES = [("Piper (natural, built in)", "piper"), ("Kokoro (natural; download it first)", "kokoro"),
          ("eSpeak NG (built in)", "espeak")]  # fmt: skip


class SettingsDialog(QDialog):
    input_device_changed = Signal(str)  # the app starts a level monitor on it
    test_sound_requested = Signal(str)  # output device name
    test_server_requested = Signal(str, str)  # URL, token: the app tries them and calls show_server_status
    preview_requested = Signal(str, float, str)  # voice, speaking rate, output device: the app speaks a line

    def __init__(
        self, values: dict, models: Choices, inputs: Choices, outputs: Choices, parent=None, compute=COMPUTE
    ):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        self.setMinimumWidth(600)
        self._fields: dict[str, QWidget] = {}
        tabs = QTabWidget()
        tabs.addTab(self._model_tab(models, compute), "Model")
        tabs.addTab(self._engine_tab(), "Engine")
        tabs.addTab(self._sound_tab(inputs, outputs), "Sound")
        tabs.addTab(self._voice_tab(), "Voice and listening")
        tabs.addTab(self._look_tab(), "Appearance")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setProperty("role", "primary")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QFormLayout(self)
        layout.addRow(tabs)
        layout.addRow(buttons)
        self.set_values(values)

    # -- tabs ----------------------------------------------------------------------------------
    def _model_tab(self, models, compute) -> QWidget:
        form, page = self._page()
        self._combo(form, "model", "Model", models, "Which AF-Next answers (Tools → Models to add one)")
        self._combo(form, "precision", "Precision", PRECISIONS, "Smaller precisions use less GPU memory")
        self._combo(form, "device", "Run on", compute, "Where the model runs on this computer")
        self._check(form, "snap_to_events", "Snap cited times to where the event starts in the audio")
        tokens = QSpinBox(minimum=16, maximum=8192, singleStep=64)
        self._add(
            form, "max_new_tokens", "Longest answer (tokens)", tokens, "The answer stops at this length"
        )
        return page

    def _engine_tab(self) -> QWidget:
        form, page = self._page()
        self._combo(form, "engine", "The model answers from", ENGINES, "This computer, or a GPU server")
        self._add(form, "server_url", "Server address", QLineEdit(placeholderText="http://gpu-box:8000"),
                  "Where `heron serve` (or vLLM) listens; https:// is checked against the system's certificates")  # fmt: skip
        token = QLineEdit(
            echoMode=QLineEdit.EchoMode.Password, placeholderText="the token heron serve printed"
        )
        self._add(form, "server_token", "Token", token, "Sent with every request to the server")
        test = QPushButton("Test connection", toolTip="Ask the server which models it serves")
        test.setAccessibleName("Test connection")
        test.clicked.connect(
            lambda: self.test_server_requested.emit(self._text("server_url"), self._text("server_token"))
        )
        self.server_status = QLabel(wordWrap=True, accessibleName="Server status")
        form.addRow("", test)
        form.addRow("", self.server_status)
        return page

    def show_server_status(self, text: str) -> None:
        self.server_status.setText(text)

    def _text(self, key: str) -> str:
        return self._fields[key].text().strip()

    def _sound_tab(self, inputs, outputs) -> QWidget:
        form, page = self._page()
        self._combo(
            form, "input_device", "Microphone", [("System default", ""), *inputs], "Where Heron listens"
        )
        self.level = QProgressBar(maximum=100, textVisible=False, accessibleName="Microphone level")
        self.level.setToolTip("Live input level of the chosen microphone: speak and it moves")
        self.level.setProperty("role", "meter")
        form.addRow("Input level", self.level)
        self.level_status = QLabel(wordWrap=True, accessibleName="Sound status")
        form.addRow("", self.level_status)
        self._fields["input_device"].currentIndexChanged.connect(
            lambda: self.input_device_changed.emit(self._fields["input_device"].currentData())
        )
        self._combo(
            form, "output_device", "Speaker", [("System default", ""), *outputs], "Where Heron speaks"
        )
        test = QPushButton("Play a test sound", toolTip="Play a short tone on the chosen speaker")
        test.setAccessibleName("Play a test sound")
        test.clicked.connect(
            lambda: self.test_sound_requested.emit(self._fields["output_device"].currentData())
        )
        form.addRow("", test)
        return page

    def _voice_tab(self) -> QWidget:
        form, page = self._page()
        self._combo(
            form, "voice", "Voice", VOICES, "The voice Heron answers with (Tools → Models adds voices)"
        )
        self.preview = QPushButton("Preview", toolTip="Hear the chosen voice at the chosen rate")
        self.preview.setAccessibleName("Preview voice")
        self.preview.clicked.connect(self._preview)
        form.addRow("", self.preview)
        rate = QDoubleSpinBox(minimum=0.5, maximum=2.0, singleStep=0.1, decimals=1)
        self._add(form, "speaking_rate", "Speaking rate", rate, "1.0 is normal speed")
        sensitivity = QSlider(minimum=10, maximum=90)
        sensitivity.setOrientation(sensitivity.orientation().Horizontal)
        self._add(form, "vad_threshold", "Speech detection threshold", sensitivity,
                  "Higher: only clear speech starts a turn; lower: quiet speech does too")  # fmt: skip
        silence = QSpinBox(minimum=200, maximum=5000, singleStep=100, suffix=" ms")
        self._add(
            form, "silence_ms", "End of turn after silence of", silence, "How long a pause ends your turn"
        )
        self._check(
            form, "echo_cancel", "Cancel echo (lets Heron hear you over its own voice, no headset needed)"
        )
        return page

    def set_voices(self, choices: list[tuple[str, str]]) -> None:
        """The installed voices as (title, name); the chosen one stays chosen."""
        combo = self._fields["voice"]
        current = combo.currentData()
        combo.clear()
        for text, value in choices:
            combo.addItem(text, value)
        self.set_values({"voice": current}, only=("voice",))

    def _preview(self) -> None:
        self.preview_requested.emit(
            self._fields["voice"].currentData(),
            self._fields["speaking_rate"].value(),
            self._fields["output_device"].currentData() or "",
        )

    def _look_tab(self) -> QWidget:
        form, page = self._page()
        self._combo(form, "theme", "Theme", THEMES, "Light or dark, or as the system is")
        return page

    # -- fields --------------------------------------------------------------------------------
    def _page(self) -> tuple[QFormLayout, QWidget]:
        page = QWidget()
        return QFormLayout(page), page

    def _add(self, form: QFormLayout, key: str, label: str, widget: QWidget, tip: str) -> None:
        widget.setAccessibleName(label)
        widget.setToolTip(tip)
        form.addRow(label, widget)
        self._fields[key] = widget

    def _combo(self, form, key: str, label: str, choices, tip: str) -> None:
        combo = QComboBox()
        for text, value in choices:
            combo.addItem(text, value)
        self._add(form, key, label, combo, tip)

    def _check(self, form, key: str, label: str) -> None:
        box = QCheckBox(label)
        self._add(form, key, "", box, label)
        box.setAccessibleName(label)

    def set_values(self, values: dict, only: tuple[str, ...] | None = None) -> None:
        for key, widget in self._fields.items():
            if only is not None and key not in only:
                continue
            value = values.get(key)
            if isinstance(widget, QComboBox):
                index = widget.findData(value)
                if index < 0 and value:
                    widget.addItem(str(value), value)  # a folder or device not in the list: keep it
                    index = widget.count() - 1
                widget.setCurrentIndex(max(index, 0))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QLineEdit):
                widget.setText(str(value or ""))
            elif isinstance(widget, QSlider):
                widget.setValue(int(round(float(value) * 100)))
            else:
                widget.setValue(value)

    def values(self) -> dict:
        out = {}
        for key, widget in self._fields.items():
            if isinstance(widget, QComboBox):
                out[key] = widget.currentData()
            elif isinstance(widget, QCheckBox):
                out[key] = widget.isChecked()
            elif isinstance(widget, QLineEdit):
                out[key] = widget.text().strip()
            elif isinstance(widget, QSlider):
                out[key] = widget.value() / 100
            else:
                out[key] = widget.value()
        return out

    def theme_choice(self) -> QComboBox:
        """The theme list (the app previews a theme as soon as it is chosen)."""
        return self._fields["theme"]

    def set_level(self, level: float) -> None:
        self.level.setValue(int(max(0.0, min(level, 1.0)) * 100))

    def set_level_status(self, text: str) -> None:
        """What the sound checks found (a microphone that cannot open, a speaker that cannot play)."""
        self.level_status.setText(text)
