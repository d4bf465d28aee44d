"""The first-run welcome: this computer, a model that fits it, the microphone and speaker, done.

Widgets only. ``app/welcome.py`` gathers the facts, runs the download or import and the sound
checks, and feeds the pages through the setters; the dialog says what the person asked for
through its signals. Skip closes it at any page (rejected); Finish on the last page accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

PAGES = ("computer", "model", "sound", "done")


@dataclass(frozen=True)
class MachineFacts:
    gpu: str  # "NVIDIA RTX 4090: 22.1 GB free", or why there is none
    ram: str  # "29.3 GB available of 31.9 GB"
    recommendation: str  # model, precision, memory needed and speed, as one sentence
    model_title: str  # the recommended model, as people know it
    download: str  # "About 16.5 GB to download; 120.3 GB free on disk."
    installed: bool  # a model is already downloaded: the model page says so


def _text(text: str = "", *, heading: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if heading:
        label.setStyleSheet("font-size: 16pt; font-weight: 600;")
    return label


class WelcomeDialog(QDialog):
    download_requested = Signal()
    import_requested = Signal(str)  # a checkpoint folder
    cancel_requested = Signal()
    server_requested = Signal()
    speaker_test_requested = Signal()
    page_shown = Signal(str)  # one of PAGES: the app runs the level meter on "sound" only

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to Heron")
        self.setMinimumSize(620, 420)
        self.pages = QStackedWidget()
        for build in (self._computer_page, self._model_page, self._sound_page, self._done_page):
            self.pages.addWidget(build())
        self.skip = QPushButton("Skip")
        self.back = QPushButton("Back")
        self.next = QPushButton("Next")
        self.skip.clicked.connect(self.reject)
        self.back.clicked.connect(lambda: self.show_page(PAGES[self.pages.currentIndex() - 1]))
        self.next.clicked.connect(self._forward)
        buttons = QHBoxLayout()
        buttons.addWidget(self.skip)
        buttons.addStretch(1)
        buttons.addWidget(self.back)
        buttons.addWidget(self.next)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addLayout(buttons)
        self.show_page("computer")

    # -- pages -------------------------------------------------------------------------------------
    def _computer_page(self) -> QWidget:
        self.gpu, self.ram, self.advice = _text(), _text(), _text()
        return self._page(
            _text("Welcome to Heron", heading=True),
            _text(
                "Heron answers with NVIDIA's Audio Flamingo Next, run on this computer. Here is what it found:"
            ),
            self.gpu,
            self.ram,
            self.advice,
        )

    def _model_page(self) -> QWidget:
        self.model_intro, self.download_size, self.model_status = _text(), _text(), _text()
        self.download = QPushButton("Download")
        self.download.setProperty("role", "primary")
        self.import_button = QPushButton("Use a folder I have…")
        self.cancel = QPushButton("Cancel")
        self.server = QPushButton("Use a server instead…")
        self.progress = QProgressBar(accessibleName="Download progress")
        self.progress.setVisible(False)
        self.download.clicked.connect(self.download_requested)
        self.import_button.clicked.connect(self._choose_folder)
        self.cancel.clicked.connect(self.cancel_requested)
        self.server.clicked.connect(self.server_requested)
        row = QHBoxLayout()
        for button in (self.download, self.import_button, self.cancel, self.server):
            row.addWidget(button)
        row.addStretch(1)
        licence = _text(
            "The model's weights are NVIDIA's, for research and non-commercial use: downloading them "
            "means accepting the model card's terms. A download that stops resumes where it stopped."
        )
        self.set_downloading(False)
        return self._page(_text("The model", heading=True), self.model_intro, self.download_size, licence,
                          row, self.progress, self.model_status)  # fmt: skip

    def _sound_page(self) -> QWidget:
        self.microphone, self.speaker, self.sound_status = _text(), _text(), _text()
        self.level = QProgressBar(
            accessibleName="Microphone level", toolTip="Speak: the bar follows your voice"
        )
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setProperty("role", "meter")
        self.speaker_test = QPushButton("Say hello")
        self.speaker_test.clicked.connect(self.speaker_test_requested)
        row = QHBoxLayout()
        row.addWidget(self.speaker_test)
        row.addStretch(1)
        return self._page(
            _text("Microphone and speaker", heading=True),
            self.microphone,
            _text("Say something: the bar follows your voice."),
            self.level,
            self.speaker,
            row,
            self.sound_status,
        )

    def _done_page(self) -> QWidget:
        return self._page(
            _text("You are set", heading=True),
            _text(
                "Open a recording (Ctrl+O) or try the sample (Help → Try the sample recording), and ask about "
                "it in the box at the bottom; or hold F2 and talk. Models, voice and devices are in Tools → "
                "Models and Tools → Settings. This welcome opens again from Help → Welcome."
            ),
        )

    @staticmethod
    def _page(*items) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        for item in items:
            if isinstance(item, QWidget):
                layout.addWidget(item)
            else:
                layout.addLayout(item)
        layout.addStretch(1)
        return page

    # -- what the app tells it ---------------------------------------------------------------------
    def set_facts(self, facts: MachineFacts) -> None:
        self.gpu.setText(f"GPU: {facts.gpu}")
        self.ram.setText(f"Memory: {facts.ram}")
        self.advice.setText(facts.recommendation)
        self.model_intro.setText(f"{facts.model_title} answers your questions and shows its reasoning.")
        self.download_size.setText(facts.download)
        if facts.installed:
            self.set_model_status("A model is already downloaded: you can go on.")

    def set_downloading(self, on: bool) -> None:
        self.download.setEnabled(not on)
        self.import_button.setEnabled(not on)
        self.cancel.setEnabled(on)
        self.progress.setVisible(on or self.progress.value() > 0)

    def set_progress(self, done: int, total: int, detail: str) -> None:
        scale = max(total, 1) / 1000  # a QProgressBar holds ints: show per mille
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(done / scale))
        self.progress.setVisible(True)
        self.model_status.setText(detail)

    def set_model_status(self, text: str) -> None:
        self.model_status.setText(text)

    def set_devices(self, microphone: str, speaker: str) -> None:
        self.microphone.setText(f"Microphone: {microphone}")
        self.speaker.setText(f"Speaker: {speaker}")

    def set_level(self, level: float) -> None:
        self.level.setValue(round(max(0.0, min(1.0, level)) * 100))

    def set_sound_status(self, text: str) -> None:
        self.sound_status.setText(text)

    # -- navigation --------------------------------------------------------------------------------
    def current_page(self) -> str:
        return PAGES[self.pages.currentIndex()]

    def show_page(self, name: str) -> None:
        index = PAGES.index(name)
        self.pages.setCurrentIndex(index)
        self.back.setEnabled(index > 0)
        self.next.setText("Finish" if name == PAGES[-1] else "Next")
        self.skip.setVisible(name != PAGES[-1])
        self.page_shown.emit(name)

    def _forward(self) -> None:
        if self.current_page() == PAGES[-1]:
            self.accept()
        else:
            self.show_page(PAGES[self.pages.currentIndex() + 1])

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder holding an AF-Next checkpoint")
        if folder:
            self.import_requested.emit(folder)
