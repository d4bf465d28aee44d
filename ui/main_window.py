"""Heron's main window. No torch or transformers here: the window opens fast."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

AUDIO_FILTER = "Recordings (*.wav *.flac *.ogg *.opus *.mp3 *.m4a *.aac *.webm *.mp4 *.mkv);;All files (*)"


class MainWindow(QMainWindow):
    recording_chosen = Signal(str)

    def __init__(self, version: str):
        super().__init__()
        self.version = version
        self.setWindowTitle("Heron")
        self.setAccessibleName("Heron main window")
        self.resize(1100, 720)
        self.setAcceptDrops(True)
        self.status = QLabel("Drop a recording here, or open one with Ctrl+O.")
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status.setAccessibleName("Status")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.status)
        self.setCentralWidget(body)
        self._build_menus()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open recording…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self.choose_recording)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addActions([open_action, quit_action])
        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About Heron", self)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(about_action)

    def choose_recording(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recording", "", AUDIO_FILTER)
        if path:
            self.open_recording(path)

    def open_recording(self, path: str) -> None:
        self.status.setText(f"Recording: {path}")
        self.recording_chosen.emit(path)

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Heron",
            f"Heron {self.version}\nA voice assistant that truly hears audio, built on NVIDIA Audio Flamingo "
            "Next. The model weights are under NVIDIA's research / non-commercial licence.",
        )

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_recording(urls[0].toLocalFile())
