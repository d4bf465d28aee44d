"""Typed questions in the window: one answered at a time, each ending in a state the chat shows.

A question is refused while the conversation's answer runs (Ask is disabled, with a tooltip
that says why; Enter leaves the question in the box), so two answers never share one turn's
view. The engine answers requests in order, so the turns asked are kept oldest first and each
event goes to the oldest not yet ended: an answer stopped by leaving its conversation still
reaches its own turn in the history, never the next question's. Reopened turns show the state
the history holds: done, stopped, interrupted, failed with its error, or not finished.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QObject

from app.progress_text import PartsClock
from engine.events import Done, Error, Event, Finish, Progress, Step
from engine.history import HistoryError, TurnState
from engine.history.records import TurnRecord
from engine.history.session import ActiveTurn
from engine.requests import AskRequest

BUSY_ANSWERING = "Heron is answering: wait for the answer, or press Stop (Esc) to ask something else."
BUSY_OPENING = "The recording is still opening: ask once it shows."
LOST = "The model engine stopped answering without finishing: ask again."
NOT_FINISHED = "Not finished: this answer was still being written when this conversation was opened."


class TypedTurns(QObject):
    def __init__(self, controller):
        super().__init__(controller)
        self.controller = controller
        self.window = controller.window
        self.parts = PartsClock()  # the long-work progress in words, and the follow-up estimate
        self._asked: deque[list] = deque()  # [ActiveTurn, TurnView | None], oldest first
        self._requests: deque[list] = deque()  # the same entries, one per bridge request not yet over

    @property
    def running(self) -> bool:
        """A typed turn has not ended yet (its conversation may have been closed meanwhile)."""
        return bool(self._asked)

    @property
    def view(self):
        """The chat's view of the typed turn being answered in the open conversation, if any."""
        return next((view for _, view in self._asked if view is not None), None)

    @property
    def active(self) -> ActiveTurn | None:
        return next((turn for turn, view in self._asked if view is not None), None)

    def refusal(self) -> str | None:
        """Why a question cannot be asked now, or None."""
        if self.view is not None:
            return BUSY_ANSWERING
        if self.controller.recordings.loading:
            return BUSY_OPENING
        return None

    # -- asking --------------------------------------------------------------------------------
    def ask(self, question: str) -> bool:
        """Ask ``question`` in the open conversation; False when refused (the user is told why)."""
        controller = self.controller
        if why := self.refusal():
            self.window.statusBar().showMessage(why, 6000)
            return False
        controller.session.model = controller.settings.model
        try:
            turn = controller.session.begin_typed(question)  # in the history before the engine hears it
        except HistoryError as exc:
            self.window.banner.show_message(exc.message)
            return False
        view = self.window.chat.add_turn(question, thinking=controller.settings.think)
        controller.refresh_conversations()
        if turn.ended:  # refused before the engine heard it (its recording is gone)
            view.fail(turn.error or "")
            controller.recordings.show_none()
            return True
        controller.voice.interrupt()  # a typed question stops the speech (one engine, one answer at a time)
        self.follow(turn, view)
        self._requests.append(self._asked[-1])
        self._announce_long_follow_up(view)
        self.parts.start()
        settings = controller.settings
        controller.bridge.ask(AskRequest(turn.request_turns, controller.model_choice(), settings.max_new_tokens,
                                         settings.think))  # fmt: skip
        self.update_controls()
        return True

    def follow(self, turn: ActiveTurn, view) -> None:
        """The engine's next answer is ``turn``'s, shown in ``view``."""
        self._asked.append([turn, view])

    def _announce_long_follow_up(self, view) -> None:
        note = self.parts.follow_up_note(self.controller.session.recording_duration)
        if note and len(self.window.chat.turns) > 1:
            view.status.setText(note)

    # -- answers -------------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """One event of the typed answer running (a ``Progress`` may be the voice loop's)."""
        if isinstance(event, Step):
            event = self.controller.snapper.ground(event)  # snapped before the history keeps it
        if isinstance(event, Progress):
            self.window.progress.show_progress(self.parts.label(event), event.done, event.total)
            return
        if not self._asked:
            if isinstance(event, Error):
                self.window.banner.show_message(event.message)
            return
        self._apply(self._asked[0], event)

    def request_over(self) -> None:
        """The bridge's oldest request is over: a turn it left without an end fails, visibly."""
        entry = self._requests.popleft() if self._requests else None
        if entry is not None and any(entry is asked for asked in self._asked):
            self._apply(entry, Error("engine", LOST))

    def _apply(self, entry: list, event: Event) -> None:
        turn, view = entry
        try:
            turn.on_event(event)
        except HistoryError as exc:  # a full disk, or its conversation deleted: the chat goes on
            if view is not None:
                self.window.banner.show_message(exc.message)
        ended = isinstance(event, (Done, Error))
        if ended:
            self._asked = deque(asked for asked in self._asked if asked is not entry)
            self.parts.finished(event.stats if isinstance(event, Done) else {})
        if view is None:  # its conversation was left: the history has it, the chat does not
            return
        self.window.progress.hide()
        view.apply_event(event)
        if isinstance(event, Step):
            self.controller.show_steps_of(view)
        if ended:
            self.controller.refresh_conversations()
            self.update_controls()
            self._offer_follow_up_note()

    def _offer_follow_up_note(self) -> None:
        note = self.parts.follow_up_note(self.controller.session.recording_duration)
        if note:
            self.window.statusBar().showMessage(note)

    def close(self) -> None:
        """The app quits: answers still running end as stopped, with what had arrived, so the
        history does not hold them as still being answered."""
        for entry in list(self._asked):
            self._apply(entry, Done.cancelled())
        self._requests.clear()

    def leave_conversation(self) -> None:
        """Another conversation opens: answers still running end in the history, not in the chat."""
        for entry in self._asked:
            entry[1] = None
        self.update_controls()

    def update_controls(self) -> None:
        """Ask and Stop say what they can do now: one Stop for every kind of work."""
        controller = self.controller
        busy = (
            bool(self._asked)
            or controller.bridge.busy
            or bool(controller.recordings.loading)
            or controller.voice.answering
        )
        self.window.input.set_busy(busy)
        note = self.parts.follow_up_note(controller.session.recording_duration)
        self.window.set_asking(self.refusal(), note)


def show_stored_turn(view, turn: TurnRecord) -> None:
    """A reopened turn as the history holds it: its steps, its answer, and how it ended."""
    for step in turn.steps:
        view.add_step(step)
    view.append_answer(turn.answer or "")
    if turn.state == TurnState.FAILED:
        view.finish({})
        view.fail(turn.error or "This answer failed.")
    elif turn.state == TurnState.INTERRUPTED:
        finish = turn.stats.get("finish") or Finish.INTERRUPTED  # a crash or kill left no stats
        view.finish({**turn.stats, "finish": finish})
    elif turn.state == TurnState.DONE:
        view.finish(turn.stats)
    else:
        view.finish({})
        view.fail(NOT_FINISHED)
