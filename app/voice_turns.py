"""Spoken turns in the window: the voice loop's events into the chat and the controls.

A spoken question becomes a turn like a typed one: "Spoken question (3.2 s)" in the chat with a
button that plays it back, its answer streamed in as Heron says it, reasoning steps as usual.
The conversation session (``engine.history.session``) makes it a turn, in the history too, as
the loop's events are read; this module only shows it. Typed and spoken turns share one
engine: a typed question stops the speech, a spoken one stops a typed answer still streaming.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QPushButton

from app import paths
from app.voice_bridge import VoiceBridge, VoiceConfig
from engine.audio import SAMPLE_RATE
from engine.events import Done, Error, Event, Progress, Step, TextDelta, ThinkDelta
from engine.history.session import spoken_file, spoken_label
from engine.voice.events import BargeIn, InputLevel, ListeningChanged, Notice, SpeechStarted, Utterance

QUEUED = Qt.ConnectionType.QueuedConnection
METER_FLOOR_DB = -60.0


class VoiceTurns(QObject):
    def __init__(self, controller):
        super().__init__(controller)
        self.controller = controller
        self.window = controller.window
        self.bridge = VoiceBridge(controller.shared, str(paths.models_dir()),
                                  controller.model_choice, controller.session, self)  # fmt: skip
        self.bridge.config = VoiceConfig.from_settings(controller.settings)
        self.open_turns: deque = deque()  # views of turns asked aloud, answer not finished (oldest first)
        self._shut = False  # the app quit: events still queued find the history closed, so they are dropped
        self._connect()
        self.bridge.check_available()

    def _connect(self) -> None:
        bar = self.window.input
        bar.mic_pressed.connect(self.press)
        bar.mic_released.connect(self.bridge.release)
        bar.hands_free_toggled.connect(self.set_hands_free)
        self.bridge.event.connect(self.on_event, QUEUED)
        self.bridge.notice.connect(self.window.banner.show_message, QUEUED)
        self.bridge.available.connect(bar.set_voice_available, QUEUED)
        self.bridge.open_changed.connect(self._open_changed, QUEUED)

    @property
    def answering(self) -> bool:
        """A spoken question's answer has not ended yet."""
        return bool(self.open_turns)

    # -- controls ------------------------------------------------------------------------------
    @Slot()
    def press(self) -> None:
        if self._model_missing():
            return
        self.bridge.press()

    @Slot(bool)
    def set_hands_free(self, on: bool) -> None:
        if on and self._model_missing():
            self.window.input.hands_free.setChecked(False)
            return
        self.bridge.set_hands_free(on)

    def _model_missing(self) -> bool:
        if self.controller.settings.model:
            return False
        self.window.banner.show_message("No model chosen yet: open Tools → Models to download or import one.")
        return True

    def apply_settings(self) -> None:
        self.bridge.configure(VoiceConfig.from_settings(self.controller.settings))

    @Slot(bool)
    def _open_changed(self, is_open: bool) -> None:
        bar = self.window.input
        bar.set_listening(is_open, self.bridge.hands_free)
        if not is_open:
            bar.hands_free.setChecked(False)

    # -- events --------------------------------------------------------------------------------
    @Slot(object)
    def on_event(self, event: Event) -> None:
        if self._shut:
            return
        bar = self.window.input
        if isinstance(event, InputLevel):
            bar.set_level((event.db - METER_FLOOR_DB) / -METER_FLOOR_DB)
        elif isinstance(event, ListeningChanged):
            bar.set_listening(event.listening, event.mode == "auto")
        elif isinstance(event, SpeechStarted):
            bar.set_hearing(True)
        elif isinstance(event, Utterance):
            bar.set_hearing(False)
            self._asked(event)
        elif isinstance(event, Notice):
            self.window.banner.show_message(event.message)
        elif isinstance(event, BargeIn):
            if self.open_turns and self.open_turns[0] is not None:
                self.open_turns[0].status.setText("Interrupted: listening to you…")
        elif isinstance(event, Progress):
            self.controller.on_event(event)  # the progress panel, as for typed questions
        elif isinstance(event, (TextDelta, ThinkDelta, Step, Done, Error)):
            self._answer_event(event)

    def _asked(self, utterance: Utterance) -> None:
        """A spoken question (already a turn of the session): into the chat."""
        controller = self.controller
        if controller.bridge.busy:
            controller.bridge.cancel()  # a spoken question supersedes a typed answer still streaming
        turn = controller.session.next_spoken()  # the turn the session made of it, as labelled there
        view = self.window.chat.add_turn(
            turn.label if turn is not None else spoken_label(utterance.duration_s)
        )
        self.add_replay(view, utterance.samples)
        controller.refresh_conversations()
        if utterance.cut_short:
            view.fail("Cut short: the microphone stopped")
            return
        self.open_turns.append(view)
        self.controller.turns.update_controls()

    def add_replay(self, view, samples: np.ndarray | None) -> None:
        """A "Play question" button on a spoken turn."""
        if samples is None or not len(samples):
            return
        button = QPushButton("Play question", toolTip="Play the spoken question back")
        button.setAccessibleName("Play question")
        button.clicked.connect(lambda: self.bridge.play(samples, SAMPLE_RATE))
        view.add_footer_button(button)
        view.replay = button

    def restore_replay(self, view, turn_id: int) -> None:
        """A reopened spoken turn plays its question from the kept file."""
        path = spoken_file(paths.spoken_dir(), turn_id)
        if path.is_file():
            import soundfile

            samples, _ = soundfile.read(str(path), dtype="float32")
            self.add_replay(view, samples)

    def _answer_event(self, event: Event) -> None:
        if not self.open_turns:
            if isinstance(event, Error):
                self.window.banner.show_message(event.message)
            return
        view = self.open_turns[0]
        ended = isinstance(event, (Done, Error))
        if ended:
            self.open_turns.popleft()
        if view is not None:  # None: its conversation was closed meanwhile (the history still has it)
            self.window.progress.hide()
            view.apply_event(event)
            if isinstance(event, Step):
                self.controller.show_steps_of(view)
        if ended:
            self.controller.turns.update_controls()
            self.controller.refresh_conversations()

    def interrupt(self) -> None:
        self.bridge.interrupt()

    def attach_models(self, dialog, panel) -> None:
        """The model manager's voice rows: "Use this voice" makes one the voice Heron speaks with."""
        panel.voice = self.controller.settings.voice
        panel.refresh()

        def use(name: str) -> None:
            from engine.speech.voices import spoken_title

            self.controller.apply_settings({"voice": name})
            panel.voice = name
            panel.refresh()
            self.window.statusBar().showMessage(f"Voice: {spoken_title(name)}")

        dialog.use_voice_requested.connect(use)

    def attach_settings(self, dialog) -> None:
        """Settings → Voice: the installed voices, and Preview speaks a line with the chosen one."""
        if dialog.property("heron_voices_attached"):
            return
        dialog.setProperty("heron_voices_attached", True)
        from app.voice_model import voices_dir
        from engine.speech.voices import installed_voices

        voices = installed_voices(paths.models_dir(), voices_dir())
        dialog.set_voices([(info.title, info.name) for info in voices])
        dialog.preview_requested.connect(self.bridge.preview)

    def leave_conversation(self) -> None:
        """Another conversation opens: stop talking; unfinished answers still reach the history."""
        self.bridge.interrupt()
        self.open_turns = deque(None for _ in self.open_turns)
        self.window.input.set_hearing(False)

    def shutdown(self) -> None:
        self._shut = True
        self.bridge.shutdown()
