"""One spoken answer: ask the engine, cut the streamed text into pieces, speak them in order.

Two threads per answer. The generator thread reads the engine's events and feeds answer text
(never reasoning) to the sentence chunker; the speaker thread turns each piece into its spoken
form, synthesises it and queues it on the player, so the next piece is synthesised while the
current one plays. An answer may start *held* (the user has paused but not surely finished):
it works as usual but keeps its events and its audio to itself until ``release``; ``discard``
drops it without a trace.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.events import Done, Error, Event, Finish, TextDelta, ThinkDelta
from engine.requests import AskRequest
from engine.speech.chunker import ChunkerOptions, SentenceChunker
from engine.speech.pacing import pacer_for, pause_after_part
from engine.speech.spoken import spoken_form
from engine.speech.tts import Voice
from engine.voice.events import Speaking
from engine.voice.playback import Player

_END = object()
SPEAKER_STALL_S = 5.0  # queued audio this late past its end: the speaker is gone


@dataclass
class SpokenAnswer:
    """What a voice turn heard and said: its question's audio, the answer, the pieces spoken."""

    audio: np.ndarray | None
    answer: str = ""
    spoken: list[str] = field(default_factory=list)  # the pieces that started playing
    interrupted: bool = False
    stats: dict = field(default_factory=dict)
    error: str | None = None


class AnswerJob:
    """Generate and speak one answer; ``emit`` receives its events (held ones on release)."""

    def __init__(
        self,
        client,
        request: AskRequest,
        voice: Voice,
        player: Player,
        emit: Callable[[Event], None],
        engine_lock: threading.Lock,
        on_finished: Callable[[AnswerJob], None] | None = None,
        held: bool = False,
        chunker: ChunkerOptions | None = None,
    ):
        self.client = client
        self.request = request
        self.voice = voice
        self.player = player
        self._emit_out = emit
        self._on_finished = on_finished
        self._engine_lock = engine_lock
        self.record = SpokenAnswer(audio=request.turns[-1].audio)
        self._chunker = SentenceChunker(chunker)
        self._pieces: queue.Queue = queue.Queue()
        self._held_events: list[Event] = []
        self._released = threading.Event()
        self._cancelled = threading.Event()
        self._discarded = False
        self._generation_over = threading.Event()
        self._lock = threading.Lock()
        self.times: dict[str, float] = {"created": time.monotonic()}
        self.speech_end = self.times["created"]  # when the user stopped speaking (set by the loop)
        self._playing_until = 0.0  # when the audio queued so far should have finished playing
        self._pacer = pacer_for(voice)
        self._made_s = self._audio_s = self._gap_max_s = 0.0  # synthesis time, speech made, longest gap
        self.finished = threading.Event()
        self._engine_done: Done | None = None
        if not held:
            self.release()

    # -- control (any thread) ----------------------------------------------------------------
    def start(self) -> None:
        threading.Thread(target=self._generate, name="heron-answer", daemon=True).start()
        threading.Thread(target=self._speak, name="heron-speaker", daemon=True).start()

    def release(self, at: float | None = None) -> None:
        """The user's turn really ended: show and play everything from now on."""
        with self._lock:
            self.times.setdefault("released", at or time.monotonic())
            self._released.set()
            held, self._held_events = self._held_events, []
        for event in held:
            self._emit_out(event)

    def cancel(self, interrupted: bool = True) -> None:
        """Stop generating and speaking; the partial answer is kept and marked interrupted."""
        if self.finished.is_set():
            return
        self.record.interrupted = self.record.interrupted or interrupted
        self._cancelled.set()
        self._released.set()  # wake a held speaker so it can leave
        self.client.cancel()

    def discard(self) -> None:
        """Drop a held answer: the user went on talking. Nothing of it is shown or heard."""
        with self._lock:
            self._discarded = True
            self._held_events = []
        self.cancel(interrupted=False)

    @property
    def held(self) -> bool:
        return not self._released.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def active(self) -> bool:
        return not self.finished.is_set()

    @property
    def generating(self) -> bool:
        return not self._generation_over.is_set()

    # -- events --------------------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        with self._lock:
            if self._discarded:
                return
            if not self._released.is_set():
                self._held_events.append(event)
                return
        self._emit_out(event)

    # -- the generator thread ------------------------------------------------------------------
    def _generate(self) -> None:
        try:
            with self._engine_lock:
                if self._cancelled.is_set():
                    self._engine_done = Done.cancelled()
                    return
                for event in self.client.ask(self.request):
                    if self._cancelled.is_set():
                        self.client.cancel()  # a cancel that came before the request started
                    self._on_engine_event(event)
        except Exception as exc:  # the engine client failed in a way it does not report itself
            self.record.error = f"{type(exc).__name__}: {exc}"
            self._emit(Error("engine_crashed", f"The answer failed ({self.record.error})."))
        finally:
            if not self._cancelled.is_set():
                for piece in self._chunker.flush():
                    self._pieces.put(piece)
            self._generation_over.set()
            self._pieces.put(_END)

    def _on_engine_event(self, event: Event) -> None:
        if isinstance(event, (TextDelta, ThinkDelta)):
            self.times.setdefault("first_token", time.monotonic())
        if isinstance(event, Done):
            self._engine_done = event
            return  # the loop's own Done, with the voice timings, ends the turn
        if isinstance(event, Error):
            self.record.error = event.message
        if isinstance(event, TextDelta):
            self.record.answer += event.text
            if not self._cancelled.is_set():
                for piece in self._chunker.feed(event.text):
                    self._pieces.put(piece)
        self._emit(event)

    # -- the speaker thread --------------------------------------------------------------------
    def _speak(self) -> None:
        try:
            while True:
                piece = self._pieces.get()
                if piece is _END or self._cancelled.is_set():
                    break
                self._say(piece)
            if not self._cancelled.is_set():
                self._wait_played()
        except Exception as exc:  # a voice that fails must not leave the turn hanging
            self.record.error = f"speech failed: {exc}"
            self._emit(Error("speech", f"Speaking the answer failed ({exc})."))
        finally:
            self._finish()

    def _say(self, piece: str) -> None:
        text = spoken_form(piece)
        if not text:
            return
        parts = self._pacer.split(text, self._ahead_s())
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            audio = self._synthesize(part)
            pause = pause_after_part(piece, part, last)
            gap = np.zeros(round(pause * self.voice.sample_rate), np.float32)
            ready = self.player.prepare(np.concatenate([audio, gap]), self.voice.sample_rate)
            self.times.setdefault("first_sentence", time.monotonic())
            self._released.wait()
            if self._cancelled.is_set():
                return
            self._queue(ready, (self, piece) if index == 0 else None)

    def _synthesize(self, text: str) -> np.ndarray:
        started = time.monotonic()
        audio = self.voice.synthesize(text)
        took, heard = time.monotonic() - started, len(audio) / self.voice.sample_rate
        self._pacer.observe(len(text), took, heard)
        self._made_s += took
        self._audio_s += heard
        return audio

    def _ahead_s(self) -> float:
        """Seconds of this answer's audio still queued before the speaker runs dry."""
        return max(0.0, self._playing_until - time.monotonic())

    def _queue(self, ready: np.ndarray, tag: object) -> None:
        now = time.monotonic()
        if self._playing_until and now > self._playing_until:  # the speaker ran dry mid-answer
            self._gap_max_s = max(self._gap_max_s, now - self._playing_until)
        self.player.play(ready, self.player.rate, tag=tag)
        # A speaker that stops taking audio (unplugged) must not hold the turn for ever.
        self._playing_until = max(now, self._playing_until) + len(ready) / self.player.rate

    def on_segment(self, piece: str, heard_at: float) -> None:
        """The player reached one of this answer's pieces (called from the audio thread)."""
        self.times.setdefault("first_audio", heard_at)
        self.record.spoken.append(piece)
        self._emit(Speaking(True, piece))

    def _wait_played(self) -> None:
        while not self._cancelled.is_set() and not self.player.wait_idle(0.05):
            if time.monotonic() > self._playing_until + SPEAKER_STALL_S:
                self.record.error = "the speaker stopped playing"
                self._emit(
                    Error(
                        "device",
                        "The speaker stopped playing (was it unplugged?): choose another with --output.",
                    )
                )
                self.player.stop()
                return

    def _finish(self) -> None:
        # The engine's stream must be over before the turn is: wait for its Done (or Error).
        self._generation_over.wait()
        engine = dict(self._engine_done.stats) if self._engine_done else {}
        engine["generation"] = engine.get("finish", "error" if self.record.error else "unknown")
        if self.record.interrupted:
            engine["finish"] = Finish.INTERRUPTED
        engine["interrupted"] = self.record.interrupted
        engine.update(self._speech_stats())
        self.record.stats = engine
        if self.record.spoken:
            self._emit(Speaking(False))
        self.finished.set()
        if self._on_finished is not None and not self._discarded:
            self._on_finished(self)

    def _speech_stats(self) -> dict:
        """How the voice kept up: its real-time factor and the longest silence the speaker ran dry."""
        if not self._audio_s:
            return {}
        return {
            "voice_rtf": round(self._made_s / self._audio_s, 3),
            "voice_gap_ms_max": round(self._gap_max_s * 1000, 1),
        }


def voice_timings(times: dict[str, float], speech_end: float) -> dict[str, float]:
    """Stage times in ms after the user's speech ended (``speech_end``, a monotonic reading)."""
    names = {
        "released": "voice_end_detected_ms",
        "first_token": "voice_first_token_ms",
        "first_sentence": "voice_first_sentence_ms",
        "first_audio": "voice_first_audio_ms",
    }
    return {label: round((times[key] - speech_end) * 1000, 1) for key, label in names.items() if key in times}
