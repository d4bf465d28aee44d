"""One conversation's turns, typed and spoken: the one place that begins and finishes them.

A ``ConversationSession`` owns the open conversation: its id in the history, the recording it
is about, and the answered turns as the model hears them again (``turns_for``). Every question
goes through it, whoever asks:

- ``begin_typed`` (the window, ``heron ask``) and ``begin_spoken`` (the voice loop's
  ``Utterance``) commit the question to the history first, so that a crash cannot lose it, and
  return an ``ActiveTurn`` that records the answer's events as they stream in;
- when a turn ends its answer joins the conversation, so follow-ups (typed or spoken) hear it;
- ``open`` rebuilds the turns of a stored conversation, spoken ones with their kept audio.

A spoken question is heard as audio: its text for the model is empty, and the recording the
conversation is about comes first as an introduction turn (``RECORDING_INTRO``). Its audio is
kept as a WAV file named after the turn, so reopened conversations and exports keep it.

The voice loop asks ``turns_for`` from its own threads while the window begins typed turns:
the session's state is guarded by a lock. ``store`` may be None for a conversation kept in
memory only (the voice loop's tests, a chat with the history turned off).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.audio import SAMPLE_RATE
from engine.events import Done, Error, Event, Finish, Step, TextDelta, ThinkDelta
from engine.history.recorder import TurnRecorder, conversation_title
from engine.history.records import ConversationRecord, TurnRecord, TurnState
from engine.history.schema import HistoryError
from engine.history.store import HistoryStore
from engine.requests import TurnSpec
from engine.voice.events import Utterance

RECORDING_INTRO = "Here is a recording I want to talk about. My questions about it follow, spoken aloud."
RECORDING_ACK = "I have listened to the recording. Ask me anything about it."
SPOKEN_QUESTION = ""  # what the model gets as text for a spoken question: the question is the audio
CUT_SHORT = "The microphone stopped while you were speaking."
SPOKEN_KEPT = 16  # spoken turns begun and not yet taken by the window (``next_spoken``)


def recording_gone(path: str) -> str:
    """Why a question about a recording no longer on disk could not be asked."""
    return f"The recording {Path(path).name} is no longer at {path}: open it again from where it is now."


def spoken_label(duration_s: float) -> str:
    """How a spoken question is titled in the chat and the history."""
    return f"Spoken question ({duration_s:.1f} s)"


def spoken_question(samples: np.ndarray) -> TurnSpec:
    """A question asked aloud, as the model hears it."""
    return TurnSpec(SPOKEN_QUESTION, audio=samples)


def spoken_file(spoken_dir: Path, turn_id: int) -> Path:
    """Where a spoken question's audio is kept (found again from the turn's id alone)."""
    return Path(spoken_dir) / f"turn-{turn_id}.wav"


@dataclass
class ActiveTurn:
    """A question committed and being answered; ``on_event`` records its answer's events."""

    session: ConversationSession
    label: str  # the question as the chat and the history show it
    spec: TurnSpec  # the question as the model hears it
    request_turns: tuple[TurnSpec, ...]  # what to send the engine: the conversation, then ``spec``
    recorder: TurnRecorder  # its ``turn_id`` is None when the turn is not in the history
    notice: str | None = None  # why the history could not take it
    epoch: int = 0  # which conversation of the session it belongs to
    ended: bool = False
    state: TurnState | None = None  # how it ended (None while it runs), as the history keeps it
    error: str | None = None  # why it failed

    @property
    def turn_id(self) -> int | None:
        return self.recorder.turn_id

    @property
    def answer_text(self) -> str:
        return self.recorder.answer_text

    def on_event(self, event: Event) -> None:
        """Record one event of the answer; at its end the turn joins the conversation."""
        if self.ended:
            return
        self.recorder.on_event(event)
        if isinstance(event, Error):
            self.ended, self.state, self.error = True, TurnState.FAILED, event.message
        if isinstance(event, Done):
            stopped = event.stats.get("finish") in (Finish.CANCELLED, Finish.INTERRUPTED)
            self.ended, self.state = True, TurnState.INTERRUPTED if stopped else TurnState.DONE
            self.session.answered(self.spec, self.answer_text, self.epoch)

    def fail(self, message: str, kind: str = "device") -> None:
        """End the turn as failed before any answer (a question cut short, a recording gone)."""
        self.on_event(Error(kind, message))


class ConversationSession:
    def __init__(self, store: HistoryStore | None, spoken_dir: Path | None = None, model: str | None = None):
        self.store = store
        self.spoken_dir = Path(spoken_dir) if spoken_dir else None
        self.model = model  # the model named on a new conversation's row
        self.conversation_id: int | None = None
        self.recording: str | None = None
        self._recording_s: float | None = None
        self._turns: list[TurnSpec] = []  # answered, as the model hears them again
        self._spoken: list[ActiveTurn] = []  # spoken turns begun and not ended, oldest first
        self._begun_spoken: deque[ActiveTurn] = deque(maxlen=SPOKEN_KEPT)  # for the window to show
        self._epoch = 0  # counts conversations: a turn of an earlier one never joins the current one
        self._lock = threading.RLock()
        self.ground_step: Callable[[Step], Step] | None = None  # a spoken turn's steps, before they are kept

    # -- which conversation ----------------------------------------------------------------------
    def new(self) -> None:
        """Start afresh about the same recording; the first question creates the conversation in
        the history. Turns still being answered go on being recorded in their own conversation."""
        with self._lock:
            self.conversation_id, self._turns, self._epoch = None, [], self._epoch + 1

    def set_recording(self, path: str | None, duration_s: float | None = None) -> None:
        """The recording this conversation is about (its first question carries it)."""
        with self._lock:
            self.recording, self._recording_s = path, duration_s

    def open(self, conversation_id: int) -> ConversationRecord:
        """Continue a stored conversation; returns it as stored, for showing."""
        record = self._history().get_conversation(conversation_id)
        paths_by_id = {r.id: r.path for r in record.recordings}
        turns: list[TurnSpec] = []
        for turn in record.turns:
            if turn.state in (TurnState.DONE, TurnState.INTERRUPTED):
                turns += self._stored_turn(turn, paths_by_id.get(turn.recording_id), first=not turns)
        with self._lock:
            self.conversation_id, self._turns, self._epoch = conversation_id, turns, self._epoch + 1
            self.recording = next((r.path for r in record.recordings), None)
            self._recording_s = None
        return record

    @property
    def recording_duration(self) -> float | None:
        """The open recording's length in seconds, once known."""
        return self._recording_s

    @property
    def turns(self) -> list[TurnSpec]:
        """The answered turns as the model hears them again (a copy)."""
        with self._lock:
            return list(self._turns)

    def turns_for(self, question: TurnSpec) -> tuple[TurnSpec, ...]:
        """What the engine hears for a new question: the conversation so far, then the question."""
        with self._lock:
            return (*self._intro_for(question), *self._turns, question)

    # -- beginning a turn --------------------------------------------------------------------------
    def begin_typed(self, question: str, audio_path: str | None = None, duration_s: float | None = None):
        """A typed question, about ``audio_path`` or (as the first) about the session's recording.

        A recording no longer on disk fails the turn at once: the question is kept with the reason
        (the returned turn has ended), and the session is about no recording from then on."""
        with self._lock:
            if audio_path is None and not self._turns:
                audio_path, duration_s = self.recording, self._recording_s
            gone = audio_path is not None and not Path(audio_path).is_file()
            if gone and audio_path == self.recording:
                self.recording, self._recording_s = None, None
            spec = TurnSpec(question, None if gone else audio_path)
            turns, epoch = self.turns_for(spec), self._epoch
        recorder = self._begin_in_history(question, None if gone else audio_path, duration_s)
        turn = ActiveTurn(self, question, spec, turns, recorder, epoch=epoch)
        if gone:
            turn.fail(recording_gone(audio_path))
        return turn

    def begin_spoken(self, samples: np.ndarray) -> ActiveTurn:
        """A spoken question: committed with its audio kept; a history failure becomes a notice."""
        label = spoken_label(len(samples) / SAMPLE_RATE)
        spec = spoken_question(samples)
        with self._lock:
            first = not self._turns
            recording, duration_s = (self.recording, self._recording_s) if first else (None, None)
            turns, epoch = self.turns_for(spec), self._epoch
        if recording is not None and not Path(recording).is_file():
            recording = None  # gone: the question is kept all the same, and the engine says what failed
        try:
            recorder, notice = self._begin_in_history(label, recording, duration_s), None
            self._keep_audio(recorder.turn_id, samples)
        except (HistoryError, OSError) as exc:
            recorder = TurnRecorder(None, None)
            notice = getattr(exc, "message", None) or f"The history failed ({exc})."
        return ActiveTurn(self, label, spec, turns, recorder, notice, epoch)

    def on_voice_event(self, event: Event) -> ActiveTurn | None:
        """Follow the voice loop's events: an ``Utterance`` begins a spoken turn, answer events
        go to the oldest spoken turn not yet ended. Returns the turn concerned, if any."""
        if isinstance(event, Utterance):
            turn = self.begin_spoken(event.samples)
            self._begun_spoken.append(turn)
            if event.cut_short:
                turn.fail(CUT_SHORT)
            else:
                with self._lock:
                    self._spoken.append(turn)
            return turn
        if not isinstance(event, (TextDelta, ThinkDelta, Step, Done, Error)):
            return None
        with self._lock:
            turn = self._spoken[0] if self._spoken else None
            if turn is not None and isinstance(event, (Done, Error)):
                self._spoken.pop(0)
        if turn is not None:
            if isinstance(event, Step) and self.ground_step is not None:
                event = self.ground_step(event)  # e.g. snapped to the event it names
            turn.on_event(event)
        return turn

    def next_spoken(self) -> ActiveTurn | None:
        """The oldest spoken turn begun and not yet taken (the window takes one per ``Utterance``)."""
        with self._lock:
            return self._begun_spoken.popleft() if self._begun_spoken else None

    def answered(self, spec: TurnSpec, answer: str, epoch: int) -> None:
        """A turn ended with an answer (whole or stopped): follow-ups hear it from now on."""
        with self._lock:
            if epoch == self._epoch:
                self._turns = [*self._intro_for(spec), *self._turns, replace(spec, answer=answer)]

    # -- helpers ------------------------------------------------------------------------------------
    def _intro_for(self, question: TurnSpec) -> list[TurnSpec]:
        """The recording's introduction, needed when the first question does not carry the
        recording itself (a spoken one)."""
        if self._turns or not self.recording or question.audio_path == self.recording:
            return []
        return [TurnSpec(RECORDING_INTRO, self.recording, RECORDING_ACK)]

    def _begin_in_history(self, label: str, recording: str | None, duration_s: float | None) -> TurnRecorder:
        if self.store is None:
            return TurnRecorder(None, None)
        recording_id = self.store.add_recording(recording, duration_s) if recording else None
        with self._lock:
            if self.conversation_id is None:  # the conversation is created with its first turn, at once
                title = conversation_title(label)
                self.conversation_id, turn_id = self.store.begin_conversation(
                    title, self.model, label, recording_id
                )
                return TurnRecorder(self.store, turn_id)
            conversation_id = self.conversation_id
        return TurnRecorder(self.store, self.store.begin_turn(conversation_id, label, recording_id))

    def _keep_audio(self, turn_id: int | None, samples: np.ndarray) -> None:
        import soundfile

        if self.spoken_dir is None or turn_id is None or not len(samples):
            return
        path = spoken_file(self.spoken_dir, turn_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), np.clip(samples, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16")

    def _stored_turn(self, turn: TurnRecord, recording: str | None, first: bool) -> list[TurnSpec]:
        """A finished history turn as the model hears it again (a spoken one with its audio)."""
        audio = spoken_file(self.spoken_dir, turn.id) if self.spoken_dir else None
        if audio is None or not audio.is_file():
            return [TurnSpec(turn.question, recording, turn.answer or "")]
        intro = [TurnSpec(RECORDING_INTRO, recording, RECORDING_ACK)] if recording and first else []
        return [*intro, TurnSpec(SPOKEN_QUESTION, str(audio), turn.answer or "")]

    def _history(self) -> HistoryStore:
        if self.store is None:
            raise HistoryError("This conversation is not kept in the history.")
        return self.store


def delete_conversation(store: HistoryStore, conversation_id: int, spoken_dir: Path) -> None:
    """Delete a conversation from the history and the spoken questions' audio kept for it.

    Raises the store's not-found error (nothing deleted) when there is no such conversation.
    """
    turn_ids = [turn.id for turn in store.get_conversation(conversation_id).turns]
    store.delete_conversation(conversation_id)
    for turn_id in turn_ids:
        spoken_file(spoken_dir, turn_id).unlink(missing_ok=True)
