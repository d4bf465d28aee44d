"""Spoken turns in the window: the voice loop's events into the chat, the history and the controls.

A spoken question becomes a turn like a typed one: "Spoken question (3.2 s)" in the chat with a
button that plays it back, its answer streamed in as Heron says it, reasoning steps as usual,
and a history row written as it happens (``TurnRecorder``). The question's audio is kept as a
WAV file named after the turn (``spoken_path``), so reopened conversations, follow-up questions
(typed or spoken) and exports keep it. Typed and spoken turns share one engine: a typed question
stops the speech, a spoken one stops a typed answer still streaming.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QPushButton

from app import paths
from app.voice_bridge import RATE, VoiceBridge, VoiceConfig
from engine.events import Done, Error, Event, Progress, Step, TextDelta, ThinkDelta
from engine.history import HistoryError
from engine.history.recorder import TurnRecorder
from engine.requests import TurnSpec
from engine.voice.events import BargeIn, InputLevel, ListeningChanged, Notice, SpeechStarted, Utterance

QUEUED = Qt.ConnectionType.QueuedConnection
SPOKEN_QUESTION = ""  # what the model gets as text: the question is the audio
METER_FLOOR_DB = -60.0


def spoken_label(duration_s: float) -> str:
    return f"Spoken question ({duration_s:.1f} s)"


def turn_specs(turn, recording: str | None, first: bool) -> list[TurnSpec]:
    """A finished history turn as the model hears it again (a spoken one with its audio)."""
    from engine.voice.loop import RECORDING_ACK, RECORDING_INTRO

    audio = paths.spoken_path(turn.id)
    if not audio.is_file():
        return [TurnSpec(turn.question, recording, turn.answer or "")]
    intro = [TurnSpec(RECORDING_INTRO, recording, RECORDING_ACK)] if recording and first else []
    return [*intro, TurnSpec(SPOKEN_QUESTION, str(audio), turn.answer or "")]


class _VoiceTurn:
    def __init__(self, view, recorder: TurnRecorder | None, audio_path: str | None, intro: list[TurnSpec]):
        self.view, self.recorder, self.audio_path, self.intro = view, recorder, audio_path, intro


class VoiceTurns(QObject):
    def __init__(self, controller):
        super().__init__(controller)
        self.controller = controller
        self.window = controller.window
        self.bridge = VoiceBridge(controller.bridge.engine, str(paths.models_dir()),
                                  controller.model_choice, self.context, self)  # fmt: skip
        self.bridge.config = VoiceConfig.from_settings(controller.settings)
        self.open_turns: deque[_VoiceTurn] = deque()  # asked aloud, answer not finished (oldest first)
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

    def context(self) -> list[TurnSpec]:
        """The conversation so far, for the loop's next answer (called from its threads)."""
        return list(self.controller.turns)

    @Slot(bool)
    def _open_changed(self, is_open: bool) -> None:
        bar = self.window.input
        bar.set_listening(is_open, self.bridge.hands_free)
        if not is_open:
            bar.hands_free.setChecked(False)

    # -- events --------------------------------------------------------------------------------
    @Slot(object)
    def on_event(self, event: Event) -> None:
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
            if self.open_turns:
                self.open_turns[0].view.status.setText("Interrupted: listening to you…")
        elif isinstance(event, Progress):
            self.controller.on_event(event)  # the progress panel, as for typed questions
        elif isinstance(event, (TextDelta, ThinkDelta, Step, Done, Error)):
            self._answer_event(event)

    def _asked(self, utterance: Utterance) -> None:
        """A spoken question: into the history first, then the chat."""
        controller = self.controller
        if controller.bridge.busy:
            controller.bridge.cancel()  # a spoken question supersedes a typed answer still streaming
        label = spoken_label(utterance.duration_s)
        try:
            turn_id, intro = self._begin(label)
            audio_path = self._keep_audio(turn_id, utterance.samples)
        except (HistoryError, OSError) as exc:
            self.window.banner.show_message(getattr(exc, "message", None) or f"The history failed ({exc}).")
            turn_id, intro, audio_path = None, [], None
        view = self.window.chat.add_turn(label)
        self.add_replay(view, utterance.samples)
        recorder = TurnRecorder(controller.store, turn_id) if turn_id is not None else None
        turn = _VoiceTurn(view, recorder, audio_path, intro)
        if utterance.cut_short:
            view.status.setText("⚠ Cut short: the microphone stopped")
            if recorder is not None:
                recorder.on_event(Error("device", "The microphone stopped while you were speaking."))
            controller.refresh_conversations()
            return
        self.open_turns.append(turn)
        self.window.input.set_busy(True)

    def _begin(self, label: str) -> tuple[int, list[TurnSpec]]:
        """The question row (and the conversation, the recording) committed, as for typed turns."""
        from engine.history.recorder import conversation_title
        from engine.voice.loop import RECORDING_ACK, RECORDING_INTRO

        controller, store = self.controller, self.controller.store
        first, recording = not controller.turns, controller.recording
        if controller.conversation_id is None:
            controller.conversation_id = store.create_conversation(
                conversation_title(label), controller.settings.model
            )
        recording_id = None
        if first and recording:
            recording_id = store.add_recording(recording, controller.player.duration or None)
        turn_id = store.begin_turn(controller.conversation_id, label, recording_id)
        intro = [TurnSpec(RECORDING_INTRO, recording, RECORDING_ACK)] if recording_id else []
        return turn_id, intro

    @staticmethod
    def _keep_audio(turn_id: int, samples: np.ndarray | None) -> str | None:
        import soundfile

        if samples is None or not len(samples):
            return None
        path = paths.spoken_path(turn_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), np.clip(samples, -1.0, 1.0), RATE, subtype="PCM_16")
        return str(path)

    def add_replay(self, view, samples: np.ndarray | None) -> None:
        """A "Play question" button on a spoken turn."""
        if samples is None or not len(samples):
            return
        button = QPushButton("Play question", toolTip="Play the spoken question back")
        button.setAccessibleName("Play question")
        button.clicked.connect(lambda: self.bridge.play(samples, RATE))
        view.add_footer_button(button)
        view.replay = button

    def restore_replay(self, view, turn_id: int) -> None:
        """A reopened spoken turn plays its question from the kept file."""
        path = paths.spoken_path(turn_id)
        if path.is_file():
            import soundfile

            samples, _ = soundfile.read(str(path), dtype="float32")
            self.add_replay(view, samples)

    def _answer_event(self, event: Event) -> None:
        if not self.open_turns:
            if isinstance(event, Error):
                self.window.banner.show_message(event.message)
            return
        turn = self.open_turns[0]
        if turn.recorder is not None:
            turn.recorder.on_event(event)
        view = turn.view
        if view is None:  # its conversation was closed meanwhile: the history still gets it
            if isinstance(event, (Done, Error)):
                self.open_turns.popleft()
            return
        self.window.progress.hide()
        view.apply_event(event)
        if isinstance(event, Step):
            self.controller._show_steps_of(view)
        elif isinstance(event, (Done, Error)):
            self._finished(turn, failed=isinstance(event, Error))

    def _finished(self, turn: _VoiceTurn, failed: bool = False) -> None:
        self.open_turns.popleft()
        controller = self.controller
        answer = turn.recorder.answer_text if turn.recorder else turn.view.answer_text
        if not failed and turn.audio_path:
            controller.turns += [*turn.intro, TurnSpec(SPOKEN_QUESTION, turn.audio_path, answer)]
        if not self.open_turns:
            self.window.input.set_busy(controller.bridge.busy)
        controller.refresh_conversations()

    def interrupt(self) -> None:
        self.bridge.interrupt()

    def attach_models(self, dialog, panel) -> None:
        """The model manager's Kokoro row: "Use" makes it the voice Heron speaks with."""
        from app.voice_model import KOKORO

        panel.voice = self.controller.settings.voice
        panel.refresh()

        def use(name: str) -> None:
            if name == KOKORO:
                self.controller.apply_settings({"voice": KOKORO})
                panel.voice = KOKORO
                panel.refresh()
                self.window.statusBar().showMessage("Voice: Kokoro")

        dialog.use_requested.connect(use)

    def leave_conversation(self) -> None:
        """Another conversation opens: stop talking; unfinished answers still reach the history."""
        self.bridge.interrupt()
        for turn in self.open_turns:
            turn.view = None
        self.window.input.set_hearing(False)

    def shutdown(self) -> None:
        self.bridge.shutdown()
