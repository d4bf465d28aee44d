"""The voice conversation seen from Qt: the engine's ``VoiceLoop`` driven from the window.

Opening the loop (devices, the voice, the turn detector: torch is imported) happens in a worker
thread, and the loop's events are read in that thread and reach the GUI thread as queued
signals, as ``EngineBridge`` does for the engine. The loop asks through the window's engine
(one process, one model in memory) via its own ``EngineView``, and its questions are turns of
the window's conversation session.

The microphone is open only while voice is in use: from the first press of "Hold to talk" or
"Hands-free" until hands-free is off and nothing has happened for ``IDLE_CLOSE_S`` (systems
show a "microphone in use" light; it should mean something). A remembered device that is gone
gives a notice and the default instead; a voice that does not open gives a notice that says why,
and the next voice in Heron's order (Piper, Kokoro, eSpeak NG) speaks instead; a microphone
that vanishes mid-conversation ends the turn with what was recorded, and the loop reopens on
the default device.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.engines.shared import SharedEngine
from app.settings import Settings
from engine.audio import SAMPLE_RATE
from engine.errors import DeviceError, HeronError
from engine.events import Error
from engine.history.session import ConversationSession
from engine.requests import ModelChoice

IDLE_CLOSE_S = 30.0


@dataclass(frozen=True)
class VoiceConfig:
    """What the settings say about voice (``app.settings.Settings`` fields of the same names and defaults)."""

    input_device: str
    output_device: str
    voice: str
    speaking_rate: float
    vad_threshold: float
    silence_ms: int
    echo_cancel: bool
    max_new_tokens: int
    think: bool

    @classmethod
    def from_settings(cls, settings) -> VoiceConfig:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


class VoiceBridge(QObject):
    event = Signal(object)  # every event of the loop, in order (InputLevel included)
    notice = Signal(str)  # something the user must know (device replaced, voice replaced, …)
    available = Signal(bool, str)  # can voice work here at all (a microphone exists); why not
    open_changed = Signal(bool)  # the loop (microphone and speaker) opened or closed

    def __init__(self, shared: SharedEngine, models_dir: str, model_choice: Callable[[], ModelChoice],
                 conversation: ConversationSession, parent: QObject | None = None):  # fmt: skip
        super().__init__(parent)
        self.engine = shared.view()  # voice answers wait for typed ones and back
        self.models_dir = models_dir
        self.model_choice = model_choice
        self.conversation = conversation
        self.config = VoiceConfig.from_settings(Settings())
        self.loop = None
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        self._opening = False
        self._hands_free = False
        self._talking = False
        self._closing = False
        self._abandoned = False  # closed while its loop was still opening: that loop must not serve
        self._last_active = time.monotonic()
        self._idle = QTimer(self, interval=1000)
        self._idle.timeout.connect(self._close_if_idle)
        self._idle.start()

    # -- availability --------------------------------------------------------------------------
    def check_available(self) -> None:
        """Look for a microphone in the background; ``available`` says the outcome."""
        threading.Thread(target=self._check, name="heron-voice-check", daemon=True).start()

    def _check(self) -> None:
        try:
            from engine.voice.devices import default_device

            default_device("input")
        except DeviceError as exc:
            self.available.emit(False, exc.message)
        except Exception as exc:  # no PortAudio library at all
            self.available.emit(False, f"The sound system cannot be used ({exc}).")
        else:
            self.available.emit(True, "")

    # -- what the window asks ------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.loop is not None

    @property
    def hands_free(self) -> bool:
        return self._hands_free

    def configure(self, config: VoiceConfig) -> None:
        """New settings: an open loop restarts with them (hands-free stays as it was)."""
        changed = config != self.config
        self.config = config
        if changed and (self.loop is not None or self._opening):
            self.restart()

    def press(self) -> None:
        """Hold to talk: pressed."""
        with self._lock:
            self._talking = True
            self._touch()
            if self.loop is not None:
                self.loop.start_talking()
            else:
                self._open()

    def release(self) -> None:
        """Hold to talk: released; what was recorded is the question."""
        with self._lock:
            self._talking = False
            self._touch()
            if self.loop is not None:
                self.loop.stop_talking()

    def set_hands_free(self, on: bool) -> None:
        with self._lock:
            self._hands_free = on
            self._touch()
            if self.loop is not None:
                self.loop.set_hands_free(on)
            elif on:
                self._open()

    def interrupt(self) -> None:
        """Stop speaking and stop the spoken answer's generation (Stop, Esc, a typed question)."""
        loop = self.loop
        if loop is not None:
            loop.interrupt()

    def wait_answered(self, timeout: float = 2.0) -> bool:
        """Wait until no spoken answer is being generated (tests, and before a typed ask)."""
        loop = self.loop
        return loop is None or loop.wait_quiet(timeout)

    def play(self, samples: np.ndarray, rate: int = SAMPLE_RATE, output_device: str | None = None) -> None:
        """Play a spoken question back (or a voice's preview) on the voice's speaker, or ``output_device``."""
        loop = self.loop
        if loop is not None and output_device in (None, self.config.output_device):
            loop.player.play(samples, rate)
            self._touch()
            return
        threading.Thread(target=self._play_alone, args=(samples, rate, output_device), daemon=True).start()

    def restart(self) -> None:
        with self._lock:
            self._close_loop()
            self._open()

    def close(self) -> None:
        """Close the loop (the microphone and the speaker); hands-free ends."""
        with self._lock:
            self._hands_free = self._talking = False
            self._abandoned = self._opening  # a loop still being built is closed as soon as it is
            self._close_loop()

    def shutdown(self) -> None:
        self._idle.stop()
        self.close()
        worker = self._worker
        if worker is not None:
            worker.join(3.0)

    def wait_open(self, timeout: float = 10.0) -> bool:
        """Block until the loop listens (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loop = self.loop
            if loop is not None and loop.capture.wait_ready(0.05):
                return True
            time.sleep(0.02)
        return False

    # -- opening and closing -------------------------------------------------------------------
    def _touch(self) -> None:
        self._last_active = time.monotonic()

    def _open(self) -> None:
        if self._opening or self.loop is not None:
            return
        self._opening, self._abandoned = True, False
        self._worker = threading.Thread(target=self._run, name="heron-voice-bridge", daemon=True)
        self._worker.start()

    def _close_loop(self) -> None:
        loop, self.loop = self.loop, None
        if loop is not None:
            self._closing = True
            loop.close()  # its event stream ends; the worker thread then leaves

    def _close_if_idle(self) -> None:
        loop = self.loop
        if loop is None or self._hands_free or self._talking:
            return
        if not loop.idle:
            self._touch()
        elif time.monotonic() - self._last_active > IDLE_CLOSE_S:
            self._close_loop()

    def _run(self) -> None:
        """The worker: open the loop, then forward its events until it stops."""
        lost = self._serve()
        if lost and not self._closing:
            self.notice.emit(f"{lost} Heron switched to the default microphone.")
            self._refresh_devices()
            with self._lock:
                self._opening = True
            if self._serve():
                self.notice.emit("The default microphone stopped too: voice is off until one is connected.")

    def _serve(self) -> str | None:
        """Open a loop and forward its events until it stops; the message of a device lost, if any."""
        loop = self._start_loop()
        if loop is None:
            return None
        lost = None
        for event in loop.events(poll_s=0.05):
            if isinstance(event, Error) and event.kind == "device":
                lost = event.message
            self.event.emit(event)
        with self._lock:
            if self.loop is loop:
                self.loop = None
            if self.loop is None and not self._opening:  # not already replaced by a restart
                self.open_changed.emit(False)
        return lost

    def _start_loop(self):
        self._closing = False
        try:
            loop = self._build_loop()
            loop.start()
        except HeronError as exc:
            self.notice.emit(exc.message)
            self._opening = False
            self.open_changed.emit(False)
            return None
        with self._lock:
            self._opening = False
            if self._abandoned:  # closed (or shut down) while it opened: never serve from a closed bridge
                self._abandoned = False
                loop.close()
                self.open_changed.emit(False)
                return None
            self.loop = loop
            loop.set_hands_free(self._hands_free)
            if self._talking:
                loop.start_talking()
        self.open_changed.emit(True)
        return loop

    @staticmethod
    def _refresh_devices() -> None:
        from engine.voice.devices import refresh

        with contextlib.suppress(Exception):  # a stream still open elsewhere: the old list will do
            refresh()  # PortAudio lists the devices as they are now

    def _build_loop(self):
        from engine.voice.devices import choose_device
        from engine.voice.loop import ChatOptions, VoiceLoop
        from engine.voice.vad import VadOptions

        config = self.config
        microphone = choose_device("input", remembered=config.input_device or None)
        speaker = choose_device("output", remembered=config.output_device or None)
        for choice in (microphone, speaker):
            if choice.notice:
                self.notice.emit(choice.notice)
        vad = VadOptions(threshold=config.vad_threshold, release=min(0.35, config.vad_threshold * 0.7),
                         silence_ms=config.silence_ms)  # fmt: skip
        options = ChatOptions(
            model=self.model_choice(),
            vad=vad,
            push_to_talk=not self._hands_free,
            echo_cancel=config.echo_cancel,
            max_new_tokens=config.max_new_tokens,
            think=config.think,
            preload=False,  # the model loads with the first question, spoken or typed
            conversation=self.conversation,
        )
        return VoiceLoop.open(self.engine, self._voice(), microphone.device, speaker.device, options)

    def _voice(self):
        from app.voice_model import voices_dir
        from engine.speech.voices import open_with_fallback

        config = self.config
        voice, notices = open_with_fallback(config.voice, self.models_dir, config.speaking_rate, voices_dir())
        for notice in notices:
            self.notice.emit(notice)
        return voice

    def preview(self, voice: str, rate: float, output_device: str = "") -> None:
        """Say a line with ``voice`` (Settings → Voice → Preview), in the background."""
        threading.Thread(target=self._preview, args=(voice, rate, output_device), daemon=True).start()

    def _preview(self, name: str, rate: float, output_device: str) -> None:
        from app.voice_model import PREVIEW_TEXT, voices_dir
        from engine.speech.spoken import spoken_form
        from engine.speech.voices import open_with_fallback

        try:
            voice, notices = open_with_fallback(name, self.models_dir, rate, voices_dir())
        except HeronError as exc:
            self.notice.emit(exc.message)
            return
        for notice in notices:
            self.notice.emit(notice)
        self.play(voice.synthesize(spoken_form(PREVIEW_TEXT)), voice.sample_rate, output_device)

    def _play_alone(self, samples: np.ndarray, rate: int, output_device: str | None = None) -> None:
        from engine.voice.devices import choose_device
        from engine.voice.playback import Player

        device = self.config.output_device if output_device is None else output_device
        try:
            speaker = choose_device("output", remembered=device or None)
            player = Player(speaker.device)
            player.start()
        except HeronError as exc:
            self.notice.emit(exc.message)
            return
        player.play(samples, rate)
        player.wait_idle(len(samples) / rate + 5)
        time.sleep(player.latency_s + 0.05)
        player.close()
