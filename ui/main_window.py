"""Heron's main window. No torch or transformers here: the window opens fast.

Left: the conversations. Right, top to bottom: the recording's waveform, the conversation,
the progress of long work, the question bar. The window only shows and asks; the
controller (app/controller.py) decides what happens.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui.chat_view import ChatView
from ui.conversation_list import ConversationList
from ui.input_bar import TALK_KEY, InputBar
from ui.waveform import WaveformView
from ui.waveform.playback_bar import PlaybackBar
from ui.window_keys import WindowKeys, shortcuts_text
from ui.window_words import for_window

AUDIO_FILTER = "Recordings (*.wav *.flac *.ogg *.opus *.mp3 *.m4a *.aac *.webm *.mp4 *.mkv);;All files (*)"
LICENCE = "The AF-Next model weights are released by NVIDIA under a research / non-commercial licence."


class Banner(QWidget):
    """A dismissible line across the window for what the user must know (engine restarted, …)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = QLabel(wordWrap=True, accessibleName="Notice")
        close = QPushButton("Dismiss", toolTip="Hide this notice")
        close.setAccessibleName("Dismiss notice")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self.setAutoFillBackground(True)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # the theme colours it (theme.qss)
        self.hide()

    def show_message(self, message: str) -> None:
        self.text.setText(for_window(message))  # command-line advice becomes the window's places
        self.show()


class ProgressPanel(QWidget):
    """Long work (loading the model, reading a long recording); the question bar's Stop ends it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel(accessibleName="Progress")
        self.bar = QProgressBar(accessibleName="Progress bar")
        self.bar.setToolTip("Stop (Esc) ends this work")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        self.hide()

    def show_progress(self, label: str, done: float, total: float | None) -> None:
        self.label.setText(label)
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * done / total))
        else:
            self.bar.setRange(0, 0)  # busy, no known end
        self.show()


class MainWindow(QMainWindow):
    recording_chosen = Signal(str)
    sample_requested = Signal()
    welcome_requested = Signal()
    settings_requested = Signal()
    models_requested = Signal()
    trainer_requested = Signal()
    base_model_requested = Signal()  # stop answering with the adapter in use
    export_requested = Signal()
    copy_last_requested = Signal()
    stop_requested = Signal()
    play_pause_requested = Signal()  # Space, from anywhere but a text box or a button

    def __init__(self, version: str):
        super().__init__()
        self.version = version
        self.setWindowTitle("Heron")
        self.setAccessibleName("Heron main window")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.recent_menu = None
        self._build_widgets()
        self._build_menus()
        window_wide = [a.shortcut() for a in self.findChildren(QAction) if a.shortcut().count()]
        self.keys = WindowKeys(self, window_wide, self.input.press_mic, self.input.release_mic)
        self.input.text.installEventFilter(self)  # Enter is refused while asking is (see set_asking)
        self._ask_refusal: str | None = None

    def _build_widgets(self) -> None:
        self.conversations = ConversationList()
        self.recording_label = QLabel("No recording open", accessibleName="Recording")
        self.waveform = WaveformView()
        self.playback = PlaybackBar(self.waveform)  # play/pause, time and length, zoom to fit
        self.playback.play_pause_requested.connect(self.play_pause_requested)
        self.chat = ChatView()
        self.banner = Banner()
        self.progress = ProgressPanel()
        self.input = InputBar()
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.recording_label)
        top_layout.addWidget(self.waveform, 1)
        top_layout.addWidget(self.playback)
        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(top)
        self.right_splitter.addWidget(self.chat)
        self.right_splitter.setStretchFactor(1, 3)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        for widget in (self.banner, self.right_splitter, self.progress, self.input):
            right_layout.addWidget(widget, 1 if widget is self.right_splitter else 0)
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.conversations)
        self.main_splitter.addWidget(right)
        self.main_splitter.setStretchFactor(1, 4)
        self.main_splitter.setSizes([260, 1020])
        self.setCentralWidget(self.main_splitter)
        self.statusBar().setAccessibleName("Status")
        self._build_adapter_status()
        self.input.stop_requested.connect(self.stop_requested)
        self._order_tabs()

    def _order_tabs(self) -> None:
        """From the question box, Tab reaches Ask, then the recording (waveform, play, fit), then the rest:
        the chat's turns, made later, would otherwise come first."""
        chain = [
            self.input.text,
            self.input.send,
            self.waveform,
            self.playback.play_button,
            self.playback.fit_button,
        ]
        for before, after in pairwise(chain):
            QWidget.setTabOrder(before, after)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open recording…", QKeySequence.StandardKey.Open, self.choose_recording)
        self.recent_menu = file_menu.addMenu("Open &recent")
        new = self.conversations.new_requested
        self._action(file_menu, "&New conversation", QKeySequence.StandardKey.New, new)
        self._action(file_menu, "&Export conversation…", "Ctrl+E", self.export_requested)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        edit_menu = self.menuBar().addMenu("&Edit")
        self._action(edit_menu, "&Copy last answer", "Ctrl+Shift+C", self.copy_last_requested)
        self._action(edit_menu, "Ask a &question", "Ctrl+L", self.input.text.setFocus)
        self._action(edit_menu, "&Stop", "Esc", self.stop_requested)
        self._action(edit_menu, "&Play or pause", "Space", self.play_pause_requested)
        tools = self.menuBar().addMenu("&Tools")
        settings = self._action(tools, "&Settings…", "Ctrl+,", self.settings_requested)
        settings.setShortcuts(
            [QKeySequence("Ctrl+,"), *QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)]
        )
        self._action(tools, "&Models…", "Ctrl+M", self.models_requested)
        self._action(tools, "&Fine-tune…", "Ctrl+Shift+F", self.trainer_requested)
        self.base_model_action = self._action(tools, "Use the &base model", None, self.base_model_requested)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "Try the &sample recording", None, self.sample_requested)
        self._action(help_menu, "&Welcome…", None, self.welcome_requested)
        self._action(help_menu, "&Keyboard shortcuts", "F1", self.show_shortcuts)
        self._action(help_menu, "&About Heron", None, self.show_about)

    def _action(self, menu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({action.shortcut().toString()})")
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- adapter in use ------------------------------------------------------------------------
    def _build_adapter_status(self) -> None:
        self.adapter_label = QLabel(accessibleName="Adapter in use")
        self.adapter_label.setToolTip("The fine-tuned adapter answering on top of the model")
        self.base_model_button = QPushButton("Use base model", toolTip="Stop using the adapter")
        self.base_model_button.setAccessibleName("Use base model")
        self.base_model_button.clicked.connect(self.base_model_requested)
        self.engine_summary = QLabel(accessibleName="Model in use")  # model · precision · device · adapter
        self.engine_summary.setToolTip("The model answering, its precision, where it runs, and the adapter")
        self.statusBar().addPermanentWidget(self.engine_summary)
        self.statusBar().addPermanentWidget(self.adapter_label)
        self.statusBar().addPermanentWidget(self.base_model_button)
        self.adapter_label.hide()
        self.base_model_button.hide()

    def set_adapter(self, name: str | None) -> None:
        """Show which adapter answers (None: the base model alone)."""
        self.adapter_label.setText(f"Adapter: {name}" if name else "")
        for widget in (self.adapter_label, self.base_model_button):
            widget.setVisible(bool(name))
        self.base_model_action.setEnabled(bool(name))

    # -- recordings ----------------------------------------------------------------------------
    def choose_recording(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recording", "", AUDIO_FILTER)
        if path:
            self.recording_chosen.emit(path)

    def set_recent(self, paths: list[str]) -> None:
        self.recent_menu.clear()
        for path in paths:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.recording_chosen.emit(p))
        self.recent_menu.setEnabled(bool(paths))

    def show_about(self) -> None:
        QMessageBox.about(self, "About Heron",
                          f"Heron {self.version}\nA voice assistant that truly hears audio, built on NVIDIA "
                          f"Audio Flamingo Next.\n{LICENCE}")  # fmt: skip

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", shortcuts_text())

    # -- asking --------------------------------------------------------------------------------
    def set_asking(self, refusal: str | None, note: str | None = None) -> None:
        """Ask works (None), or not and why: the button's tooltip says it, Enter keeps the question.
        ``note``: what the next question will cost, when that is worth knowing before asking."""
        self._ask_refusal = refusal
        self.input.send.setEnabled(refusal is None)
        self.input.send.setToolTip(refusal or note or "Send the question (Enter)")

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if (
            self._ask_refusal
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self.statusBar().showMessage(self._ask_refusal, 6000)
            return True  # the question stays in the box
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Holding F2 is "Hold to talk" (keys no widget took reach the window)."""
        if event.key() == TALK_KEY and not event.isAutoRepeat():
            self.keys.talk_pressed()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.key() == TALK_KEY and not event.isAutoRepeat():
            self.keys.talk_released()
        else:
            super().keyReleaseEvent(event)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.recording_chosen.emit(urls[0].toLocalFile())
