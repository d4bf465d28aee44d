"""The conversation loop: listen, hear a question, answer aloud, listen again.

``VoiceLoop`` owns the microphone, the echo canceller, the turn detector and the speaker, and
talks to the engine through the same interface as everything else (``engine.interface.Engine``).
It runs on its own threads and reports everything as events: ``for event in loop.events()`` in a
terminal, or in a worker thread that forwards them to the desktop app's widgets. Its questions
are turns of a ``ConversationSession``, which also gives each answer its context.

The audio thread reads the microphone, removes the echo of what Heron itself plays, and feeds
the turn detector:

- a pause in the user's speech starts the answer early but *held* (nothing shown or heard); if
  the user goes on talking it is dropped, and when the pause becomes the end of the turn it is
  released, so the reply starts about one silence window after the user stops;
- while Heron speaks (an answer, or ``say``), a voice on the microphone (the double-talk test;
  without echo cancellation a loud microphone; until the test has found the echo path, the
  detector's onset) pauses the speaker at once;
  voice that goes on once the echo of what was already playing has died out is the user's: the
  speaker stops and the answer is cancelled (barge-in), kept and marked as interrupted in the
  turn record and in the turn's ``Done`` stats. Anything else (a blip, a leak of Heron's own
  echo) lets the speaker resume, and a "turn" made of echo is never reported or answered.

In push-to-talk mode ``start_talking``/``stop_talking`` delimit the turns instead of the detector;
they work in hands-free mode too (holding the key overrides the detector), and ``set_hands_free``
switches between the two while the loop runs (the desktop app's "Hands-free" button).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from engine.errors import DeviceError
from engine.events import Done, Error, Event, Progress
from engine.history.session import ConversationSession, spoken_question
from engine.requests import AskRequest, LoadRequest, ModelChoice
from engine.speech.chunker import ChunkerOptions, SentenceChunker
from engine.speech.spoken import spoken_form
from engine.speech.tts import Voice, pause_after
from engine.voice.answer import AnswerJob, SpokenAnswer, voice_timings
from engine.voice.barge import BargeWatch
from engine.voice.capture import RATE, Capture, DeviceLostError
from engine.voice.devices import SoundDevice
from engine.voice.echo import EchoCanceller
from engine.voice.events import (
    InputLevel,
    ListeningChanged,
    Notice,
    SpeechEnded,
    SpeechStarted,
    Utterance,
)
from engine.voice.playback import Player
from engine.voice.vad import CHUNK, TurnDetector, VadEvent, VadOptions

LEVEL_EVERY_S = 0.1
PTT_PRE_ROLL_S = 0.3
PTT_MIN_S = 0.1  # a press shorter than this holds no question


@dataclass
class ChatOptions:
    model: ModelChoice
    vad: VadOptions = field(default_factory=VadOptions)
    push_to_talk: bool = False
    echo_cancel: bool = True
    audio_path: str | None = None  # a recording the conversation is about (without ``conversation``)
    max_new_tokens: int = 256
    think: bool = False
    chunker: ChunkerOptions | None = None
    preload: bool = True  # load the model as the loop starts, not at the first question
    # Whose turns these are: the app shares its session (typed and spoken turns, in the history);
    # None: a conversation about ``audio_path`` kept in memory only.
    conversation: ConversationSession | None = None


class VoiceLoop:
    """A voice conversation on one microphone and one speaker; see the module docstring."""

    def __init__(
        self,
        client,
        voice: Voice,
        capture: Capture,
        player: Player,
        options: ChatOptions,
        detector: TurnDetector | None = None,
        echo: EchoCanceller | None = None,
    ):
        self.client = client
        self.voice = voice
        self.capture = capture
        self.player = player
        self.options = options
        self.echo = echo or EchoCanceller(enabled=options.echo_cancel)
        self.detector = detector or TurnDetector(options.vad)
        # The turn ends one output latency (and a block, and a thread wake-up) early, so that
        # the reply is *heard* when the silence window is over.
        self.detector.end_early_s = getattr(player, "requested_latency", 0.0) + 0.03
        self.hands_free = not options.push_to_talk
        self.player.on_played = self.echo.add_reference
        self.player.on_segment = self._on_segment
        self.conversation = options.conversation or ConversationSession(None)
        if options.conversation is None:
            self.conversation.set_recording(options.audio_path)
        self.turns: list[SpokenAnswer] = []  # what was heard and said, turn by turn
        self._events: queue.Queue = queue.Queue()
        self._engine_lock = threading.Lock()
        self._job: AnswerJob | None = None
        self._job_lock = threading.RLock()
        self._closing = threading.Event()
        self._stopped = threading.Event()
        self._listener: threading.Thread | None = None
        self._fed_s = 0.0  # 16 kHz stream time fed to the detector
        self.barge = BargeWatch(player, self.detector, self._wall_of, self.echo.echo_delay_s)
        self._confirmed = False  # the detector's current turn was reported (SpeechStarted)
        self._recent: deque[np.ndarray] = deque()
        self._ptt: list[np.ndarray] | None = None
        self._reset_detector = False
        self._level_at = 0.0
        self.ready = threading.Event()  # set once the model is loaded (or failed to load)

    @classmethod
    def open(
        cls, client, voice: Voice, input_device: SoundDevice, output_device: SoundDevice, options: ChatOptions
    ) -> VoiceLoop:
        """The usual wiring: real devices by ``SoundDevice``, a fresh detector and canceller."""
        return cls(client, voice, Capture(input_device), Player(output_device), options)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Open the devices and start listening (returns at once; read ``events``)."""
        self.player.start()
        try:
            self.capture.start()
        except DeviceError:
            self.player.close()
            raise
        if self.options.preload:
            threading.Thread(target=self._preload, name="heron-preload", daemon=True).start()
        else:
            self.ready.set()
        self._listener = threading.Thread(target=self._listen, name="heron-listen", daemon=True)
        self._listener.start()
        self._emit(ListeningChanged(True, "auto" if self.hands_free else "push_to_talk"))

    def close(self) -> None:
        """Stop listening and speaking; ``events`` ends once the last ones are read."""
        self._closing.set()
        if self._listener is not None and self._listener is not threading.current_thread():
            self._listener.join(2.0)
        job = self._job
        if job is not None and job.active:
            job.cancel()
            job.finished.wait(2.0)
        self.player.close()
        self.capture.close()
        if not self._stopped.is_set():
            self._emit(ListeningChanged(False))
            self._stopped.set()

    def __enter__(self) -> VoiceLoop:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def events(self, poll_s: float = 0.1) -> Iterator[Event]:
        """Everything that happens, in order, until the loop stops.

        Reading them is also what makes each spoken question a turn of the conversation (on the
        reader's thread: the history is never written from the audio thread): an ``Utterance``
        comes out with its ``turn_id``, followed by a ``Notice`` if the history failed.
        """
        while True:
            try:
                event = self._events.get(timeout=poll_s)
            except queue.Empty:
                if self._stopped.is_set() and self._events.empty():
                    return
                continue
            turn = self.conversation.on_voice_event(event)
            if isinstance(event, Utterance):
                event = replace(event, turn_id=turn.turn_id)
            yield event
            if isinstance(event, Utterance) and turn.notice:
                yield Notice(turn.notice)

    def _emit(self, event: Event) -> None:
        self._events.put(event)

    def _preload(self) -> None:
        """Load the model, then answer one silent question so the first real one is not slower."""
        try:
            with self._engine_lock:
                failed = False
                for event in self.client.load(LoadRequest(self.options.model)):
                    if isinstance(event, (Progress, Error)):
                        self._emit(event)
                    failed = failed or isinstance(event, Error)
                if not failed:
                    warm_up = spoken_question(np.zeros(RATE, np.float32))
                    for _ in self.client.ask(AskRequest((warm_up,), self.options.model, max_new_tokens=2)):
                        pass
        finally:
            self.ready.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the model is loaded and the microphone delivers sound."""
        return self.ready.wait(timeout) and self.capture.wait_ready(timeout or 0.0)

    @property
    def idle(self) -> bool:
        """Nobody is talking, nothing is being answered or said (the app may close the loop)."""
        job = self._job
        return (
            self._ptt is None
            and (job is None or not job.active)
            and not self.player.busy
            and self.detector.state == "idle"
        )

    def wait_quiet(self, timeout: float | None = None) -> bool:
        """Wait until the current answer (if any) has finished or been cancelled."""
        job = self._job
        return job is None or job.finished.wait(timeout)

    # -- what the app can do -------------------------------------------------------------------
    def say(self, text: str) -> None:
        """Speak ``text`` now, outside any turn (a greeting, a notice); returns at once."""

        def speak() -> None:
            chunker = SentenceChunker()
            for piece in chunker.feed(text) + chunker.flush():
                spoken = spoken_form(piece)
                if spoken:
                    audio = self.voice.synthesize(spoken)
                    gap = np.zeros(round(pause_after(piece) * self.voice.sample_rate), np.float32)
                    self.player.play(np.concatenate([audio, gap]), self.voice.sample_rate)

        threading.Thread(target=speak, name="heron-say", daemon=True).start()

    def interrupt(self) -> None:
        """Stop the answer being spoken, as a barge-in would (e.g. a stop button)."""
        with self._job_lock:
            job = self._job
            if job is not None and job.active and not job.held:
                job.cancel(interrupted=True)
        self.player.stop()

    def set_hands_free(self, on: bool) -> None:
        """Listen all the time (the detector takes turns), or only while the key is held."""
        if on == self.hands_free:
            return
        self.hands_free = on
        self._drop_detector_turn()
        self._emit(ListeningChanged(True, "auto" if on else "push_to_talk"))

    def _drop_detector_turn(self) -> None:
        """Forget the detector's turn in progress (and an answer held for it)."""
        with self._job_lock:
            if self._job is not None and self._job.held:
                self._job.discard()
                self._job = None
        self._confirmed = False
        self.barge.pause = None
        self._reset_detector = True  # done by the audio thread, which owns the detector

    def start_talking(self) -> None:
        """Push-to-talk pressed: interrupt Heron if it is speaking and start recording."""
        if self._ptt is not None:
            return
        self.interrupt()
        self._drop_detector_turn()
        self._ptt = list(self._recent)
        self._emit(SpeechStarted(self._fed_s))

    def stop_talking(self) -> None:
        """Push-to-talk released: the recording is the question."""
        recorded, self._ptt = self._ptt, None
        if recorded is None:
            return
        audio = np.concatenate(recorded) if recorded else np.zeros(0, np.float32)
        self._emit(SpeechEnded(self._fed_s, len(audio) / RATE))
        if len(audio) < PTT_MIN_S * RATE:
            self._emit(Notice("That was too short to be a question: hold the key while you speak."))
            return
        self._emit(Utterance(len(audio) / RATE, samples=audio))
        self._start_job(audio, held=False, speech_end=time.monotonic())

    # -- the audio thread ----------------------------------------------------------------------
    def _listen(self) -> None:
        try:
            self._hear()
        except Exception as exc:  # a bug or a library failure must end the loop, not hang it
            self._emit(Error("voice", f"Listening stopped unexpectedly ({type(exc).__name__}: {exc})."))
            self._closing.set()
            self.player.stop()
            self._emit(ListeningChanged(False))
            self._stopped.set()

    def _hear(self) -> None:
        while not self._closing.is_set():
            try:
                samples = self.capture.read(0.05)
            except DeviceLostError as exc:
                self._device_lost(exc)
                return
            if len(samples) == 0:
                continue
            captured_end = self.capture.time_of(self.capture.samples_read / RATE)
            clean = self.echo.process(samples, captured_end)
            # With no echo possible, the microphone itself is what the user said: the canceller's
            # suppressor can go on muting a voice for a while after Heron stops talking.
            heard = samples if self._echo_gone(captured_end - len(samples) / RATE) else clean
            self._fed_s += len(clean) / RATE
            self._report_level(heard)
            self._keep_recent(heard)
            if self._reset_detector:
                self._reset_detector = False
                self.detector.reset()
            if self._ptt is not None or not self.hands_free:
                continue  # the key delimits the turn
            near_end = self.echo.take_near_end() if self.echo.enabled else None  # drained even when unused
            self.barge.watch(near_end, clean, self._fed_s, self._speaking())
            for event in self.detector.feed(heard):
                self._on_vad(event)
            self._settle_barge()

    def _echo_gone(self, block_start: float) -> bool:
        """The speaker has been quiet (paused, stopped or idle) for longer than its echo lasts."""
        if not self.echo.enabled:
            return False  # the canceller passes the microphone through anyway
        return self.barge.echo_over_at(block_start)

    def _keep_recent(self, samples: np.ndarray) -> None:
        if self._ptt is not None:
            self._ptt.append(samples)
        self._recent.append(samples)
        while sum(len(s) for s in self._recent) > PTT_PRE_ROLL_S * RATE:
            self._recent.popleft()

    def _report_level(self, samples: np.ndarray) -> None:
        now = time.monotonic()
        if now - self._level_at >= LEVEL_EVERY_S:
            self._level_at = now
            rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
            self._emit(InputLevel(round(20 * np.log10(max(rms, 1e-6)), 1)))

    def _wall_of(self, stream_s: float) -> float:
        """The monotonic time at which stream position ``stream_s`` was captured."""
        return self.capture.time_of(stream_s)

    def _on_vad(self, event: VadEvent) -> None:
        handler = {
            "onset": self._on_onset,
            "blip": self._on_blip,
            "started": self._on_started,
            "pause": self._on_pause,
            "resumed": self._on_resumed,
            "ended": self._on_ended,
        }[event.kind]
        handler(event)

    def _answering(self) -> AnswerJob | None:
        """The released answer still being generated or spoken, if any."""
        job = self._job
        if job is not None and job.active and not job.held and not job.cancelled:
            return job
        return None

    def _speaking(self) -> bool:
        """Heron is answering or saying something: what the microphone hears may be its echo."""
        return self._answering() is not None or self.player.busy

    def _settle_barge(self) -> None:
        """A barge-in confirmed: the answer is cancelled (kept as interrupted), the user's turn begins."""
        barge_in = self.barge.settle(self._fed_s)
        if barge_in is None:
            return
        job = self._answering()
        if job is not None:
            job.cancel(interrupted=True)
        self._emit(barge_in)
        self._confirm_turn(barge_in.at_s)

    def _confirm_turn(self, at_s: float) -> None:
        self._confirmed = True
        self._emit(SpeechStarted(round(at_s, 3)))

    def _on_onset(self, event: VadEvent) -> None:
        # Once the double-talk test knows whether and how the microphone hears the speaker it
        # decides; until then (the first second Heron speaks) the detector's onset watches.
        if self.echo.enabled and self.echo.double_talk.hears_echo is not None:
            return
        if self._speaking() and self.barge.pause is None:
            self.barge.pause_for(event.at_s - CHUNK / RATE)  # silence first; speech or not after

    def _on_blip(self, event: VadEvent) -> None:
        pass  # while paused for the user, ``_settle_barge`` decides when to resume

    def _on_started(self, event: VadEvent) -> None:
        if self.barge.pause is not None:
            return  # Heron was speaking; ``_settle_barge`` confirms the turn once it is surely not echo
        if self._speaking():  # the double-talk test took it for echo, yet some passed the canceller
            self.barge.pause_for(event.at_s)  # only a voice outlasting the echo is the user's
            return
        self._confirm_turn(event.at_s)

    def _on_pause(self, event: VadEvent) -> None:
        if not self._confirmed:
            return
        with self._job_lock:
            if self._job is None or not self._job.active or self._job.cancelled:
                self._start_job(event.audio, held=True, speech_end=self._wall_of(event.last_voice_s))

    def _on_resumed(self, event: VadEvent) -> None:
        with self._job_lock:
            if self._job is not None and self._job.held:
                self._job.discard()
                self._job = None

    def _on_ended(self, event: VadEvent) -> None:
        confirmed, self._confirmed = self._confirmed, False
        if not confirmed:
            return  # a turn made of Heron's own echo: it never started, so it does not end
        self._emit(SpeechEnded(round(event.at_s, 3), round(event.speech_s, 3)))
        self._emit(Utterance(round(len(event.audio) / RATE, 3), samples=event.audio))
        with self._job_lock:
            job = self._job
            if job is not None and job.held:
                job.release()
            else:
                self._start_job(event.audio, held=False, speech_end=self._wall_of(event.last_voice_s))

    def _device_lost(self, exc: DeviceLostError) -> None:
        audio = None
        if self._ptt is not None:
            audio = np.concatenate(self._ptt) if self._ptt else None
            self._ptt = None
        elif self.hands_free:
            ended = self.detector.end_now()
            audio = ended.audio if ended is not None else None
        if audio is not None and len(audio):
            self.turns.append(SpokenAnswer(audio=audio, error=exc.message))
            self._emit(Utterance(round(len(audio) / RATE, 3), cut_short=True, samples=audio))
        with self._job_lock:
            if self._job is not None and self._job.active:
                self._job.cancel()
        self._emit(Error(exc.kind, exc.message))
        self._closing.set()
        self.player.stop()
        self._emit(ListeningChanged(False))
        self._stopped.set()

    # -- answers -------------------------------------------------------------------------------
    def _start_job(self, audio: np.ndarray, held: bool, speech_end: float) -> None:
        request = AskRequest(
            turns=self.conversation.turns_for(spoken_question(audio)),
            model=self.options.model,
            max_new_tokens=self.options.max_new_tokens,
            think=self.options.think,
        )
        job = AnswerJob(
            self.client,
            request,
            self.voice,
            self.player,
            self._emit,
            self._engine_lock,
            on_finished=self._job_finished,
            held=held,
            chunker=self.options.chunker,
        )
        job.speech_end = speech_end
        with self._job_lock:
            self._job = job
        job.start()

    def _on_segment(self, tag: object, heard_at: float) -> None:
        if isinstance(tag, tuple) and isinstance(tag[0], AnswerJob):
            tag[0].on_segment(tag[1], heard_at)

    def _job_finished(self, job: AnswerJob) -> None:
        stats = dict(job.record.stats)
        stats.update(voice_timings(job.times, job.speech_end))
        job.record.stats = stats
        self.turns.append(job.record)
        self._emit(Done(stats))
