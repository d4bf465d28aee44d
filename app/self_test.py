"""``heron doctor --self-test``: the whole chain, part by part, with the tiny model.

Each part passes or fails on its own and a failure says how to fix it: decode the bundled
sample; answer a question about it with reasoning, in a real engine process; speak the answer
to a file; find the speech in the bundled spoken question; write the turn to a history file and
read it back. The tiny model (``engine.model.tiny``, built once into the cache folder) has the
real architecture and random weights: its words mean nothing, so the answer part checks the
plumbing, and the reasoning steps are checked on a reference chain through the same parser.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app import paths
from app.assets import ASSETS_DIR, SAMPLE_RECORDING, SPOKEN_QUESTION
from engine.runtime.doctor import FAIL, OK, WARN, Check

QUESTION = "What was approved, and when does the doorbell ring?"
MAX_NEW_TOKENS = 24
ANSWER_DEADLINE_S = 300.0  # a fresh engine on a slow machine: imports, the tiny model, one answer
# A chain as AF-Next's think model writes one: the parser must find two steps at these times.
REFERENCE_REASONING = "1. The doorbell rings at [00:11].\n2. Applause from 00:29 to 00:32."
REFERENCE_TIMES = [(11.0, 11.0), (29.0, 32.0)]


def reinstall_hint() -> str:
    """How to repair this kind of install."""
    if getattr(sys, "frozen", False):
        return "unpack the Heron bundle again and run its install.sh"
    if (ASSETS_DIR.parent / ".git").exists():
        return "run `bash packaging/install.sh --start` in the checkout"
    return "reinstall Heron: `pipx reinstall heron` (or `pip install --force-reinstall heron`)"


@dataclass
class _Answer:
    text: str = ""
    turn_id: int | None = None
    stats: dict | None = None


class SelfTest:
    """The parts, in order; ``run`` yields one ``Check`` per part."""

    def __init__(self, work: Path, history_path: Path):
        self.work = work  # the tiny model and the spoken answer stay here for the next run
        self.history_path = history_path  # a throwaway history beside the real one
        self.answer = _Answer()

    def parts(self) -> list[tuple[str, Callable[[], Check], str]]:
        """Each part: its name, what runs it, and the fix shown when it fails."""
        return [
            ("Decode a bundled clip", self.decode, f"The audio decoder (PyAV, FFmpeg) is broken: {reinstall_hint()}."),
            ("Answer, with reasoning steps", self.ask, self._engine_fix()),
            ("Speak the answer to a file", self.speak, f"The voices could not speak: {reinstall_hint()}."),
            ("Detect speech", self.detect_speech, f"Speech detection (silero-vad) failed: {reinstall_hint()}."),
            ("Write and read the history", self.history, self._history_fix()),
        ]  # fmt: skip

    def run(self) -> Iterator[Check]:
        self.work.mkdir(parents=True, exist_ok=True)
        try:
            for name, part, fix in self.parts():
                yield run_part(name, part, fix)
        finally:
            remove_database(self.history_path)

    # -- the parts -------------------------------------------------------------------------------
    def decode(self) -> Check:
        from engine.audio import SAMPLE_RATE, decode_audio

        start = time.perf_counter()
        samples = decode_audio(SAMPLE_RECORDING)
        seconds = len(samples) / SAMPLE_RATE
        took = time.perf_counter() - start
        if not 30 < seconds < 36:
            return Check("", FAIL, f"{SAMPLE_RECORDING.name} decoded to {seconds:.1f} s instead of 32.8 s")
        return Check(
            "", OK, f"{SAMPLE_RECORDING.name}: {seconds:.1f} s at {SAMPLE_RATE // 1000} kHz in {took:.2f} s"
        )

    def ask(self) -> Check:
        from transformers.utils import logging as hf_logging

        from engine.model.tiny import ensure_tiny_model
        from engine.reasoning.tracker import steps_from_output

        hf_logging.disable_progress_bar()  # building the tiny model would draw one
        start = time.perf_counter()
        model = ensure_tiny_model(self.work / "tiny-model")
        built = time.perf_counter() - start
        error = self._ask_engine(model)
        if error:
            return Check("", FAIL, f"the engine failed: {error}")
        steps = steps_from_output(f"<think>{REFERENCE_REASONING}</think>Approved.", audio_duration=32.8)
        times = [(s.start_s, s.end_s) for s in steps]
        if times != REFERENCE_TIMES:
            return Check("", FAIL, f"the reasoning parser found {times}, not {REFERENCE_TIMES}")
        stats = self.answer.stats or {}
        return Check(
            "",
            OK,
            f"a local engine process answered {stats.get('new_tokens', '?')} tokens, first after "
            f"{stats.get('ttft_s', 0):.2f} s (tiny model ready in {built:.1f} s; its words are random); "
            f"the reasoning parser gave {len(steps)} steps at 0:11 and 0:29",
        )

    def speak(self) -> Check:
        import numpy as np
        import soundfile

        voice, notice = open_voice_or_espeak()
        text = "Here is the answer. " + (self.answer.text[:120] or "The budget is approved.")
        start = time.perf_counter()
        samples = voice.synthesize(text)
        took = time.perf_counter() - start
        out = self.work / "answer.wav"
        soundfile.write(out, samples, voice.sample_rate)
        seconds = len(samples) / voice.sample_rate
        if seconds < 0.5 or float(np.sqrt(np.mean(np.square(samples)))) < 1e-3:
            return Check("", FAIL, f"{voice.name} gave {seconds:.2f} s of near silence")
        detail = f"{voice.name}: {seconds:.1f} s of speech in {took:.2f} s, in {out}"
        return Check("", WARN if notice else OK, f"{detail}{notice}")

    def detect_speech(self) -> Check:
        from engine.audio import decode_audio
        from engine.voice.vad import TurnDetector, load_vad_model

        samples = decode_audio(SPOKEN_QUESTION)
        detector = TurnDetector(model=load_vad_model())
        events = detector.feed(samples)
        if (last := detector.end_now()) is not None:
            events.append(last)
        kinds = [e.kind for e in events]
        ended = [e for e in events if e.kind == "ended"]
        if kinds.count("started") != 1 or len(ended) != 1:
            return Check("", FAIL, f"expected one spoken turn in {SPOKEN_QUESTION.name}, got events {kinds}")
        turn = ended[0]
        start_s = turn.last_voice_s - turn.speech_s
        return (
            Check(
                "",
                OK,
                f"{SPOKEN_QUESTION.name}: one turn, {turn.speech_s:.1f} s of speech ending at {turn.last_voice_s:.1f} s",
            )
            if start_s >= 0
            else Check("", FAIL, f"speech measured before the clip began ({start_s:.1f} s)")
        )

    def history(self) -> Check:
        from engine.history import HistoryStore

        if self.answer.turn_id is None:
            self._write_turn_directly()
        with HistoryStore(self.history_path, read_only=True) as store:
            turn = store.get_turn(self.answer.turn_id)
            conversations = store.list_conversations()
        if turn.question != QUESTION or turn.answer != self.answer.text or len(conversations) != 1:
            return Check("", FAIL, "the turn read back differs from the one written")
        return Check(
            "", OK, f"turn {turn.id} ({turn.state}) written and read back in {self.history_path.parent}"
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _ask_engine(self, model: Path) -> str | None:
        """Ask the tiny model through a real engine process, recording the turn; the error, if any."""
        from engine.history.session import ConversationSession
        from engine.requests import AskRequest, ModelChoice

        store = _open_store(self.history_path)  # None when it cannot be written: the history part says why
        try:
            session = ConversationSession(store, self.work / "spoken", str(model))
            turn = session.begin_typed(QUESTION, str(SAMPLE_RECORDING), 32.8)
            choice = ModelChoice(str(model), str(paths.models_dir()))
            error = self._stream(AskRequest(turn.request_turns, choice, MAX_NEW_TOKENS, think=True), turn)
        finally:
            if store is not None:
                store.close()
        return error or (None if self.answer.stats is not None else "the answer ended without Done")

    def _stream(self, request, turn) -> str | None:
        from app.engines import open_engine
        from engine.events import Done, Error

        engine = open_engine(None, str(paths.logs_dir()))
        deadline = time.monotonic() + ANSWER_DEADLINE_S
        try:
            for event in engine.ask(request):
                turn.on_event(event)
                if isinstance(event, Error):
                    return event.message
                if isinstance(event, Done):
                    self.answer = _Answer(turn.answer_text, turn.turn_id, dict(event.stats))
                if time.monotonic() > deadline:
                    engine.cancel()
                    return f"no answer within {ANSWER_DEADLINE_S:.0f} s"
        finally:
            engine.shutdown()
        return None

    def _write_turn_directly(self) -> None:
        """The answer part failed: write a turn of our own, so that the history is still checked."""
        from engine.events import Done, TextDelta
        from engine.history import HistoryStore
        from engine.history.session import ConversationSession

        with HistoryStore(self.history_path) as store:
            turn = ConversationSession(store, self.work / "spoken").begin_typed(QUESTION)
            for event in (TextDelta("The budget is approved."), Done({})):
                turn.on_event(event)
            self.answer = _Answer(turn.answer_text, turn.turn_id, {})

    def _engine_fix(self) -> str:
        log = paths.logs_dir() / "engine.log"
        return (
            f"Run `heron doctor` for PyTorch and transformers, and look at {log}; "
            f"if a package is broken, {reinstall_hint()}."
        )

    def _history_fix(self) -> str:
        return (
            f"Heron cannot write in {self.history_path.parent}: make the folder writable and free some "
            "disk space, or set HERON_HOME to a folder that is."
        )


def run_part(name: str, part: Callable[[], Check], fix: str) -> Check:
    """Run one part; any failure becomes a failed check with the part's fix."""
    try:
        check = part()
    except Exception as exc:  # a broken part must not hide the others
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return Check(name, FAIL, " ".join(str(message).split()), fix)
    return Check(name, check.status, check.detail, fix if check.status == FAIL else check.fix)


def open_voice_or_espeak(name: str | None = None):
    """The voice ``name`` (None: the default), or eSpeak NG with a notice when it does not open.

    The welcome's "Say hello" speaks with it too.
    """
    from engine.errors import HeronError
    from engine.speech.tts import open_voice

    named = {"name": name} if name else {}  # no name: open_voice's own default
    try:
        return open_voice(**named, models_dir=paths.models_dir()), ""
    except HeronError as exc:
        return open_voice("espeak"), f" (the voice did not open: {exc.message})"


def _open_store(path: Path):
    from engine.errors import HeronError
    from engine.history import HistoryStore

    try:
        return HistoryStore(path)
    except HeronError:
        return None


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def self_test() -> Iterator[Check]:
    """The self-test in Heron's own folders: its work in the cache, its history beside the real one."""
    return SelfTest(paths.cache_dir() / "self-test", paths.data_dir() / "self-test-history.sqlite3").run()
