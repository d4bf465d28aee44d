"""What the window's actions do: open recordings, ask, stream answers in, seek, keep history.

The window shows; the engine (in its own process) thinks; the controller connects the two
and writes every turn to the history as it happens.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QInputDialog

from app import paths
from app.engine_choice import ENGINE_SETTINGS, engine_from
from app.engines.bridge import EngineBridge
from app.engines.shared import SharedEngine
from app.exporting import export_conversation
from app.player import RecordingPlayer
from app.recording_flow import RecordingFlow
from app.settings import Settings, open_settings, recent_files
from app.settings_panel import show_engine_summary, wire_think_toggle
from app.turn_flow import TypedTurns, show_stored_turn
from app.voice_turns import VoiceTurns
from app.welcome import QuestionBeforeModel
from engine.events import Event, Step
from engine.grounding import StepSnapper, play_start
from engine.history import HistoryError, HistoryStore
from engine.history.session import ActiveTurn, ConversationSession, delete_conversation
from engine.interface import Engine, EngineState
from engine.requests import ModelChoice
from ui.theme import apply_theme

QUEUED = Qt.ConnectionType.QueuedConnection
LAST_CONVERSATION = "window/last_conversation"  # open at the last quit (0: a new one)


class Controller(QObject):
    server_checked = Signal(str)  # Settings → Engine → Test connection: what to show

    def __init__(self, window, engine: Engine | None = None, player: RecordingPlayer | None = None):
        super().__init__(window)
        self.window = window
        self.qsettings = open_settings()
        self.settings = Settings.load(self.qsettings)
        self.engine = engine or engine_from(self.settings)
        self.shared = SharedEngine(self.engine)  # typed questions and the voice loop take turns on it
        self.bridge = EngineBridge(self.shared, parent=self)
        self.player = player or RecordingPlayer(self)
        self.store = HistoryStore(paths.history_path())
        self.snapper = StepSnapper(None, self.settings.snap_to_events)  # steps → their events' starts
        self.session = ConversationSession(self.store, paths.spoken_dir(), self.settings.model)
        self.session.ground_step = self.snapper.ground  # spoken turns' steps too
        self.recordings = RecordingFlow(self)  # the recording on screen: the next question's
        self.loader = self.recordings.loader
        self.retiring: list[threading.Thread] = []  # old engines letting their model go
        self.turns = TypedTurns(self)  # typed questions: asked one at a time, each ending visibly
        self._connect()
        self.voice = VoiceTurns(self)  # spoken turns: the microphone controls, the voice loop
        self.turns.update_controls()
        self.refresh_conversations()
        self.window.set_recent(recent_files(self.qsettings))
        self.window.set_adapter(Path(self.settings.adapter).name if self.settings.adapter else None)
        self.trainer = None  # the trainer window's controller, once opened
        self.models_panel = None  # the open model manager's panel, which lists the adapters
        apply_theme(self.settings.theme)
        wire_think_toggle(self)  # Think beside the question box
        self.before_model = QuestionBeforeModel(self)  # a question asked before any model exists
        show_engine_summary(self)

    @property
    def recording(self) -> str | None:
        """The recording open in the window, once loaded."""
        return self.session.recording

    @property
    def conversation_id(self) -> int | None:
        return self.session.conversation_id

    @property
    def turn_view(self):
        """The chat's view of the typed turn being answered, if any."""
        return self.turns.view

    @property
    def active(self) -> ActiveTurn | None:
        return self.turns.active

    def _connect(self) -> None:
        w = self.window
        w.recording_chosen.connect(self.open_recording)
        w.sample_requested.connect(self.open_sample)
        w.input.ask_requested.connect(self.ask)
        w.stop_requested.connect(self.stop)
        w.copy_last_requested.connect(lambda: w.chat.current and w.chat.current.copy_answer())
        w.export_requested.connect(lambda: self.export_conversation(self.conversation_id))
        w.models_requested.connect(self.open_models)
        w.welcome_requested.connect(self.open_welcome)
        w.trainer_requested.connect(self.open_trainer)
        w.base_model_requested.connect(lambda: self.use_adapter(None))
        w.settings_requested.connect(self.open_settings)
        w.conversations.new_requested.connect(self.new_conversation)
        w.conversations.opened.connect(self.open_conversation)
        w.conversations.delete_requested.connect(self.delete_conversation)
        w.conversations.rename_requested.connect(self.rename_conversation)
        w.conversations.export_requested.connect(self.export_conversation)
        w.chat.seek_requested.connect(self.play_from)
        w.chat.step_activated.connect(self.activate_step)
        w.chat.step_hovered.connect(lambda step: w.waveform.highlight_step(step.index if step else None))
        w.chat.turn_focused.connect(self.show_steps_of)
        w.waveform.seek_requested.connect(self.player.seek)
        w.waveform.play_pause_requested.connect(self.player.toggle)
        w.play_pause_requested.connect(self.player.toggle)
        w.waveform.step_clicked.connect(self._waveform_step_clicked)
        w.waveform.step_hovered.connect(self._waveform_step_hovered)
        self.player.position_changed.connect(w.waveform.set_playhead)
        self.player.playing_changed.connect(w.playback.set_playing)
        self.player.notice.connect(w.banner.show_message)
        self.bridge.event.connect(self.on_event, QUEUED)
        self.bridge.ask_over.connect(self.turns.request_over, QUEUED)  # after the answer's own events
        self.bridge.busy_changed.connect(self._bridge_busy, QUEUED)
        self.bridge.restarted.connect(self._engine_restarted, QUEUED)

    # -- recordings ----------------------------------------------------------------------------
    @Slot(str)
    def open_recording(self, path: str) -> None:
        """A new recording starts a new conversation about it."""
        self.new_conversation()
        self.recordings.load(path)

    def open_sample(self) -> None:
        """The bundled sample, with a question to try already typed (Enter asks it)."""
        from app.assets import SAMPLE_QUESTION, SAMPLE_RECORDING

        self.open_recording(str(SAMPLE_RECORDING))
        self.window.input.text.setText(SAMPLE_QUESTION)
        self.window.input.text.selectAll()
        self.window.input.text.setFocus()

    # -- asking --------------------------------------------------------------------------------
    @Slot(str)
    def ask(self, question: str) -> bool:
        """Ask in the open conversation; False when refused (no model yet, an answer running)."""
        if not self.settings.model:
            self.before_model.hold(question)
            self.window.models_requested.emit()
            return False
        return self.turns.ask(question)

    def model_choice(self) -> ModelChoice:
        if self.settings.adapter and not Path(self.settings.adapter).is_dir():
            gone = Path(self.settings.adapter).name
            self.use_adapter(None)
            self.window.banner.show_message(
                f"The adapter {gone} is no longer on disk: answering with the base model. "
                "Choose another in Tools → Models."
            )
        return ModelChoice(self.settings.model, str(paths.models_dir()), self.settings.precision or None,
                           self.settings.device or None, self.settings.adapter or None,
                           str(paths.cache_dir()))  # fmt: skip

    @Slot(object)
    def on_event(self, event: Event) -> None:
        self.turns.on_event(event)

    @Slot()
    def stop(self) -> None:
        """One Stop for everything: the typed answer, the speech, a recording being opened."""
        self.bridge.cancel()
        self.voice.interrupt()
        self.recordings.cancel()
        self.window.progress.hide()
        self.turns.update_controls()

    @Slot(bool)
    def _bridge_busy(self, busy: bool) -> None:
        self.turns.update_controls()

    @Slot(str)
    def _engine_restarted(self, message: str) -> None:
        self.window.banner.show_message(
            "The model engine stopped unexpectedly and was restarted; your conversation is intact. "
            f"Ask again to continue. ({message})"
        )

    # -- steps and playback ----------------------------------------------------------------------
    def show_steps_of(self, view) -> None:
        """The waveform shows the steps of ``view``'s turn (the focused or streaming one), snapped."""
        view.map_steps(self.snapper.ground)  # a no-op for steps already snapped (spoken turns' are not)
        self.window.waveform.set_steps([*view.steps.steps(), *view.answer_steps])

    def ground_steps(self) -> None:
        """Every turn's steps snapped to the open recording (or as cited, with snapping off)."""
        for view in self.window.chat.turns:
            self.show_steps_of(view)  # the current turn, last, is the one the waveform keeps

    @Slot(object)
    def activate_step(self, step: Step) -> None:
        """Click or Enter on a step: play from just before the event it names, show and highlight it."""
        self.window.waveform.highlight_step(step.index)
        self.play_from(play_start(self.snapper.ground(step)))

    @Slot(float)
    def play_from(self, seconds: float) -> None:
        self.player.seek(seconds)
        self.window.waveform.show_time(seconds)
        self.player.play()

    def _waveform_step_clicked(self, index: int) -> None:
        view = self.window.chat.current
        for step in view.steps.steps() + view.answer_steps if view else []:
            if step.index == index and step.start_s is not None:
                self.activate_step(step)
                return

    def _waveform_step_hovered(self, index) -> None:
        view = self.window.chat.current
        if view is not None:
            view.steps.highlight(index)

    # -- conversations -------------------------------------------------------------------------
    def refresh_conversations(self) -> None:
        self.window.conversations.set_conversations(self.store.list_conversations(200), self.conversation_id)

    @Slot()
    def new_conversation(self) -> None:
        self._leave_conversation()
        self.session.new()

    def _leave_conversation(self) -> None:
        """Stop what the open conversation is doing and clear its views (its history stays)."""
        self.bridge.cancel()
        self.turns.leave_conversation()
        self.voice.leave_conversation()
        self.window.chat.clear()
        self.window.waveform.set_steps([])

    @Slot(int)
    def open_conversation(self, conversation_id: int) -> None:
        self._leave_conversation()
        try:
            record = self.session.open(conversation_id)
        except HistoryError as exc:
            self.window.banner.show_message(exc.message)
            self.session.new()
            return
        self.turns.parts.forget()
        for turn in record.turns:
            view = self.window.chat.add_turn(turn.question)
            self.voice.restore_replay(view, turn.id)
            show_stored_turn(view, turn)
            self.turns.parts.finished(turn.stats)  # a long answer's time: the next follow-up's estimate
        self.recordings.reload(self.session.recording)

    def reopen_last(self) -> None:
        """Start where the user left off: the conversation open at the last quit (else the latest)."""
        last = self.qsettings.value(LAST_CONVERSATION)
        known = [summary.id for summary in self.store.list_conversations(200)]
        wanted = int(last) if last is not None else next(iter(known), 0)
        if wanted in known:
            self.open_conversation(wanted)

    @Slot(int)
    def delete_conversation(self, conversation_id: int) -> None:
        delete_conversation(self.store, conversation_id, paths.spoken_dir())
        if conversation_id == self.conversation_id:
            self.new_conversation()
        self.refresh_conversations()

    @Slot(int)
    def rename_conversation(self, conversation_id: int) -> None:
        title, ok = QInputDialog.getText(self.window, "Rename conversation", "Title:")
        if ok and title.strip():
            self.store.rename_conversation(conversation_id, title.strip())
            self.refresh_conversations()

    def export_conversation(
        self, conversation_id: int | None, path: str | None = None, kind: str | None = None
    ):
        return export_conversation(self.window, self.store, conversation_id, path, kind)

    # -- settings ------------------------------------------------------------------------------
    @Slot()
    def open_settings(self):
        from app.settings_panel import open_settings_dialog

        self.settings_dialog = open_settings_dialog(self)
        return self.settings_dialog

    def apply_settings(self, values: dict) -> None:
        before = [getattr(self.settings, name) for name in ENGINE_SETTINGS]
        self.settings = Settings(**{**self.settings.__dict__, **values})
        self.settings.save(self.qsettings)
        if before != [getattr(self.settings, name) for name in ENGINE_SETTINGS]:
            self._switch_engine()
        apply_theme(self.settings.theme)
        show_engine_summary(self)
        self.voice.apply_settings()
        self.snapper.enabled = self.settings.snap_to_events
        self.ground_steps()

    def _switch_engine(self) -> None:
        """Answer from where the settings now say; the old engine lets its model go."""
        self.stop()
        old, self.engine = self.engine, engine_from(self.settings)
        self.shared.engine = self.engine
        retiring = threading.Thread(target=old.shutdown, name="heron-engine-shutdown")  # joined at quit
        retiring.start()
        self.retiring.append(retiring)
        where = "the server" if self.settings.engine == "server" else "this computer"
        self.window.statusBar().showMessage(f"The model now answers from {where}.")

    # -- models --------------------------------------------------------------------------------
    @Slot()
    def open_models(self):
        """The model manager (non-modal: downloads go on while the user keeps working)."""
        from app.models_panel import ModelsPanel
        from ui.model_manager import ModelManager

        dialog = ModelManager(self.window)
        server = (
            (self.settings.server_url, self.settings.server_token)
            if self.settings.engine == "server"
            else None
        )
        panel = ModelsPanel(dialog, paths.models_dir(), self.settings.model, dialog, server)
        dialog.use_requested.connect(lambda name: self.use_model(name, panel) if name != "kokoro" else None)
        self.voice.attach_models(dialog, panel)  # the Kokoro voice's row
        panel.model_ready.connect(lambda name: self.use_model(name, panel))  # imported: used at once
        dialog.finished.connect(panel.cancel)
        self._list_adapters_in(dialog, panel)
        dialog.show()
        self.models_dialog = dialog
        return panel

    def use_model(self, name: str, panel=None) -> None:
        self.settings.model = name
        if panel is not None and not self.settings.precision:
            self.settings.precision = panel.recommended[1]
        self.settings.save(self.qsettings)
        self.window.statusBar().showMessage(f"Model: {name}")
        if panel is not None:
            panel.current = name
            panel.refresh()
        show_engine_summary(self)
        self.before_model.model_ready()

    def _list_adapters_in(self, dialog, panel) -> None:
        """The model manager's adapters: Use / Use base model act here; the list follows."""
        panel.adapter = self.settings.adapter
        panel.refresh_adapters()
        dialog.adapters.use_requested.connect(self.use_adapter)
        dialog.adapters.base_requested.connect(lambda: self.use_adapter(None))
        self.models_panel = panel

    # -- fine-tuning ---------------------------------------------------------------------------
    @Slot()
    def open_trainer(self):
        """The trainer window (non-modal, kept: closing it does not stop a run)."""
        from app.trainer_controller import TrainerController
        from ui.trainer_window import TrainerWindow

        if self.trainer is None:
            trainer = TrainerController(TrainerWindow(self.window), self.qsettings, self.settings.model, self)
            trainer.adapter_chosen.connect(self.use_adapter)
            trainer.training_started.connect(self._free_engine_for_training)
            self.trainer = trainer
        self.trainer.window.show()
        self.trainer.window.raise_()
        return self.trainer

    def use_adapter(self, folder: str | None) -> None:
        """Answer with the adapter in ``folder`` from the next question on; None: the base model."""
        self.settings.adapter = folder or ""
        self.settings.save(self.qsettings)
        name = Path(folder).name if folder else None
        self.window.set_adapter(name)
        self.window.statusBar().showMessage(f"Adapter: {name}" if name else "Answering with the base model")
        if self.models_panel is not None:
            self.models_panel.adapter = self.settings.adapter
            self.models_panel.refresh_adapters()
        show_engine_summary(self)

    def _free_engine_for_training(self) -> None:
        """Training and the model engine both need the memory: an idle engine lets its model go
        (the next question loads it again)."""
        if self.shared.owner is None and self.engine.health().state == EngineState.READY:
            self.engine.shutdown()
            self.window.statusBar().showMessage("Model unloaded for training; it reloads when you ask.")

    def first_start(self) -> None:
        """No model chosen: the welcome the first time; else the installed model, or the manager."""
        from app.welcome import welcome_due
        from engine.model.registry import installed_models

        if self.settings.model:
            return
        if welcome_due(self.qsettings):
            self.open_welcome()
            return
        installed = [m.name for m in installed_models(paths.models_dir()) if m.complete]
        if installed:
            self.use_model(installed[0])
        else:
            self.open_models()

    def open_welcome(self) -> None:
        """The first-run welcome; Help → Welcome opens it again."""
        from app.welcome import WelcomeFlow

        self.welcome = WelcomeFlow(self.window, self.settings, self.qsettings, paths.models_dir())
        self.welcome.model_ready.connect(self.use_model)
        self.welcome.server_requested.connect(self.open_settings)
        self.welcome.open()

    def shutdown(self) -> None:
        self.window.conversations.commit_pending_delete()  # a delete still undoable goes through
        self.loader.cancel()
        self.player.close()
        self.voice.shutdown()
        if self.trainer is not None:
            self.trainer.shutdown()
        self.bridge.shutdown()
        self.turns.close()
        for thread in self.retiring:
            thread.join()  # an old engine's child ends cleanly, not killed by the quit
        self.qsettings.setValue(LAST_CONVERSATION, self.conversation_id or 0)
        self.settings.save(self.qsettings)
        self.store.close()
