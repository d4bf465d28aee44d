"""The engine process: owns the model, answers requests, streams events back.

The caller (``app.engine_client``) starts ``serve`` in a child process and talks to it
over a ``multiprocessing`` connection: ``("ask"|"load", request_id, request)`` and
``("cancel", request_id)`` in, ``(request_id, event)`` out. A reader thread takes
messages so that a cancel reaches a request that is running.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.audio import SAMPLE_RATE, decode_audio, probe_audio
from engine.contexts import CachedContext, ContextCache, TurnKey, audio_key_of_samples
from engine.conversation import Conversation, Turn
from engine.errors import HeronError, RequestError
from engine.events import Done, Error, Event, Progress
from engine.longform import planner
from engine.longform.pipeline import answer_in_windows
from engine.progress import with_progress
from engine.prompt import followup_prompt, full_prompt
from engine.reasoning import StepEvents
from engine.requests import AskRequest, LoadRequest, ModelChoice, TurnSpec
from engine.streams import relay
from engine.trainer.adapters import AdapterManager, adapter_identity, check_compatible, read_adapter
from engine.trainer.errors import AdapterError

log = logging.getLogger("heron.engine")

THINK_INSTRUCTION = (
    "\n\nFirst reason step by step inside <think> and </think>, citing each moment of the audio you "
    "rely on as [mm:ss]; then give the answer."
)
AUDIO_CACHE_BYTES = 2 * 1024**3  # decoded recordings kept for follow-up questions
CONTEXT_CACHE_BYTES_CPU = 4 * 1024**3  # prefilled conversations kept for follow-ups, on the CPU
CONTEXT_CACHE_GPU_SHARE = 0.25  # … and on a GPU, as a share of its memory
MAX_ADAPTERS = 4  # adapters kept on the model at once (a few MB each); the least recently used goes
MAX_DURATIONS = 1024  # recordings whose length is remembered after their samples left the cache


@dataclass(frozen=True)
class AudioId:
    """A turn's audio as the caches know it, worked out once per request."""

    file: tuple | None  # AudioCache.key of a recording on disk; None for samples or a missing file
    key: str | None  # what a cached context remembers the audio by; None for no audio


class AudioCache:
    """Decoded recordings by (path, size, mtime), least recently used dropped first.

    The length of every recording put here is remembered after its samples are dropped, so that
    follow-ups need not probe the file again to know whether it is a long recording.
    """

    def __init__(self, max_bytes: int = AUDIO_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._seconds: OrderedDict[tuple, float] = OrderedDict()

    @staticmethod
    def key(path: str) -> tuple:
        stat = os.stat(path)
        return (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)

    def get(self, key: tuple) -> np.ndarray | None:
        if key in self._items:
            self._items.move_to_end(key)
        return self._items.get(key)

    def put(self, key: tuple, audio: np.ndarray) -> None:
        self._items[key] = audio
        self.note_seconds(key, len(audio) / SAMPLE_RATE)
        while sum(a.nbytes for a in self._items.values()) > self.max_bytes and len(self._items) > 1:
            self._items.popitem(last=False)

    def seconds(self, key: tuple) -> float | None:
        return self._seconds.get(key)

    def note_seconds(self, key: tuple, seconds: float) -> None:
        self._seconds[key] = seconds
        self._seconds.move_to_end(key)
        while len(self._seconds) > MAX_DURATIONS:
            self._seconds.popitem(last=False)


class Engine:
    """What lives in the engine process between requests: one model, decoded audio, prefilled contexts.

    The base model stays loaded while adapters come and go on it: ``AdapterManager`` injects each
    adapter's layers into the loaded model, and switching (or going back to the base) is a flag.
    """

    def __init__(self):
        self.loaded = None
        self.spec = None  # the registry entry of the loaded model; None for a local folder
        self.adapters: AdapterManager | None = None  # on self.loaded, once an adapter was asked for
        self._adapter_names: OrderedDict[tuple, str] = OrderedDict()  # identity -> name, oldest first
        self._loaded_key: tuple | None = None
        self.audio = AudioCache()
        self.contexts = ContextCache(CONTEXT_CACHE_BYTES_CPU)

    # -- model -------------------------------------------------------------------------------
    def model_for(self, choice: ModelChoice) -> Generator[Event, None, tuple]:
        """Make the chosen model and adapter the ones that answer, loading the base model only when
        it changes; yields progress. Returns the model key, (folder, device, precision, adapter
        identity or None): what a prefilled context was computed under."""
        from engine.model.loading import choose_device, default_precision, load_model
        from engine.model.registry import resolve_model

        resolved = resolve_model(choice.model, Path(choice.models_dir))
        adapter = adapter_identity(Path(choice.adapter)) if choice.adapter else None  # before any loading
        device = choose_device(choice.device)
        base_key = (str(resolved.path), device, choice.precision or default_precision(device))
        if base_key != self._loaded_key:
            self.unload()
            yield Progress("load_model", 0.0, 1.0)
            self.loaded = load_model(resolved.path, precision=base_key[2], device=device)
            self.spec = resolved.spec
            self._loaded_key = base_key
            self.contexts.max_bytes = _context_budget(device)
            yield Progress("load_model", 1.0, 1.0)
        self._use_adapter(adapter)
        return (*base_key, adapter)

    def _use_adapter(self, identity: tuple | None) -> None:
        """Activate the adapter ``identity`` names (loading it if need be), or the base model for None."""
        if identity is None:
            if self.adapters is not None:
                self.adapters.use(None)
            return
        name = self._adapter_names.get(identity)
        if name is None:
            name = self._load_adapter(identity)
        else:
            self.adapters.use(name)
        self._adapter_names.move_to_end(identity)

    def _load_adapter(self, identity: tuple) -> str:
        folder = Path(identity[0])
        check_compatible(read_adapter(folder), self.loaded.model, folder)  # refused before any change
        for stale in [known for known in self._adapter_names if known[0] == identity[0]]:
            self._unload_adapter(stale)  # older weights from the same folder: trained again since
        while len(self._adapter_names) >= MAX_ADAPTERS:
            self._unload_adapter(next(iter(self._adapter_names)))
        if self.adapters is None:
            self.adapters = AdapterManager(self.loaded)
        try:
            name = self.adapters.load(folder)
        except AdapterError:
            self.unload()  # peft may have half-changed the model: the next request loads it afresh
            raise
        self._adapter_names[identity] = name
        return name

    def _unload_adapter(self, identity: tuple) -> None:
        self.adapters.unload(self._adapter_names.pop(identity))

    def unload(self) -> None:
        import torch

        self.contexts.clear()
        self.loaded, self.spec, self._loaded_key = None, None, None
        self.adapters = None
        self._adapter_names.clear()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- audio -------------------------------------------------------------------------------
    def audio_for(self, spec: TurnSpec, ident: AudioId, should_cancel: Callable[[], bool]) -> Iterator[Event]:
        """The turn's samples, decoded (or taken from the cache); they are the return value."""
        if not spec.audio_path:
            return spec.audio
        cached = self.audio.get(ident.file) if ident.file else None
        if cached is not None:
            return cached
        samples = yield from with_progress(
            "decode_audio", decode_audio, spec.audio_path, should_cancel=should_cancel
        )
        if ident.file:
            self.audio.put(ident.file, samples)
        return samples

    def audio_id(self, spec: TurnSpec) -> AudioId:
        """The turn's audio identity: the file looked at (or the samples hashed) once per request."""
        if spec.audio_path:
            file = self.audio.key(spec.audio_path) if os.path.isfile(spec.audio_path) else None
            return AudioId(file, "file:" + repr(file) if file else None)
        return AudioId(None, audio_key_of_samples(spec.audio))

    def _seconds_of(self, spec: TurnSpec, ident: AudioId) -> float:
        known = self.audio.seconds(ident.file) if ident.file else None
        if known is not None:
            return known
        seconds = probe_audio(spec.audio_path).duration_s or 0.0
        if ident.file:
            self.audio.note_seconds(ident.file, seconds)
        return seconds

    # -- asking ------------------------------------------------------------------------------
    def ask(self, request: AskRequest, should_cancel: Callable[[], bool]) -> Iterator[Event]:
        from engine.generation import GenerationOptions, stream_answer

        options = GenerationOptions(max_new_tokens=request.max_new_tokens, think=request.think)
        options.validate()
        _validate_turns(request)
        model_key = yield from self.model_for(request.model)
        asked_at = time.perf_counter()  # time to first token counts from here: audio and prompt included
        *earlier, last = request.turns
        *earlier_ids, last_id = [self.audio_id(t) for t in request.turns]
        last_audio = yield from self.audio_for(last, last_id, should_cancel)
        question = last.question + (THINK_INSTRUCTION if request.think and not _thinks(self.spec) else "")
        recording = yield from self._long_recording(earlier, earlier_ids, last_audio)
        if recording is not None:
            earlier_qa = [(t.question, t.answer or "") for t in earlier]
            windowed = answer_in_windows(self.loaded, recording, question, options, should_cancel, asked_at,
                                         earlier_qa)  # fmt: skip
            yield from with_steps(windowed, len(recording) / SAMPLE_RATE)
            return
        earlier_keys = [
            (t.question, ident.key, t.answer) for t, ident in zip(earlier, earlier_ids, strict=True)
        ]
        context = self.contexts.take(model_key, earlier_keys) if earlier else None
        prompt = (
            followup_prompt(self.loaded, context, earlier[-1].answer, question, last_audio)
            if context
            else None
        )
        if prompt is None:
            conversation = yield from self._conversation(
                earlier, earlier_ids, question, last_audio, should_cancel
            )
            prompt = full_prompt(self.loaded, conversation)
        self._make_room(prompt)
        stream = stream_answer(self.loaded, prompt, options, should_cancel, asked_at)
        outcome = yield from with_steps(stream, prompt.audio_s)
        self._remember(
            model_key, earlier, [*earlier_ids, last_id], last, question, last_audio, prompt, outcome
        )

    def _long_recording(self, earlier: list[TurnSpec], ids: list[AudioId], last_audio) -> np.ndarray | None:
        """The conversation's recording when it is longer than the model hears at once."""
        if last_audio is not None and len(last_audio) > planner.MAX_WINDOW_S * SAMPLE_RATE:
            return last_audio
        for spec, ident in zip(reversed(earlier), reversed(ids), strict=True):
            if spec.audio_path and self._seconds_of(spec, ident) > planner.MAX_WINDOW_S:
                return (yield from self.audio_for(spec, ident, lambda: False))
        return None

    def _conversation(self, earlier, ids, question, last_audio, should_cancel) -> Iterator[Event]:
        conversation = Conversation()
        for spec, ident in zip(earlier, ids, strict=True):
            audio = yield from self.audio_for(spec, ident, should_cancel)
            conversation.ask(spec.question, audio).answer = spec.answer
        conversation.ask(question, last_audio)
        return conversation

    def _remember(self, model_key, earlier, ids, last, question, last_audio, prompt, outcome) -> None:
        """Keep this turn's prefilled prompt so that the next follow-up starts from it."""
        if outcome.cache is None or outcome.finish == "cancelled":
            return
        prompt_len = int(prompt.inputs["input_ids"].shape[-1])
        outcome.cache.crop(-(outcome.cache.get_seq_length() - prompt_len))  # drop the answer's tokens
        turns = [(t.question, bool(t.audio_path) or t.audio is not None, t.answer) for t in earlier]
        *earlier_ids, last_id = ids
        keys = [
            _turn_key(t.question, ident.key, t.answer) for t, ident in zip(earlier, earlier_ids, strict=True)
        ]
        done = _turn_key(last.question, last_id.key, outcome.raw_text, outcome.answer_text)
        self.contexts.put(
            CachedContext(
                turns=(*keys, done),
                messages=_template_messages([*turns, (question, last_audio is not None, None)]),
                token_ids=prompt.inputs["input_ids"][:, :prompt_len],
                cache=outcome.cache,
                audio_s=prompt.audio_s,
                model_key=model_key,
            )
        )

    def _make_room(self, prompt) -> None:
        """On a GPU short of memory for this prompt's KV cache, drop older contexts first."""
        import torch

        if self.loaded.device != "cuda":
            return
        free, _ = torch.cuda.mem_get_info()
        needed = int(prompt.inputs["input_ids"].shape[-1]) * _kv_bytes_per_token(self.loaded) * 2
        if free < needed:
            self.contexts.shrink_to(max(0, self.contexts.nbytes - (needed - free)))
            torch.cuda.empty_cache()

    def load(self, request: LoadRequest) -> Iterator[Event]:
        yield from self.model_for(request.model)
        loaded = self.loaded
        yield Done(
            {
                "model": str(loaded.path),
                "device": loaded.device,
                "precision": loaded.precision,
                "load_s": round(loaded.load_seconds, 3),
                "adapter": self.adapters.active if self.adapters is not None else None,
            }
        )


def with_steps(stream, audio_s: float):
    """Pass a generation's events on, adding a ``Step`` event as each reasoning step completes."""
    steps = StepEvents(audio_s or None)
    return relay(stream, lambda e: [*steps.finish(), e] if isinstance(e, Done) else [e, *steps.on_event(e)])


def _turn_key(question: str, audio_key: str | None, *answers: str | None) -> TurnKey:
    return TurnKey(question, audio_key, frozenset(a for a in answers if a is not None))


def _template_messages(turns: list[tuple[str, bool, str | None]]) -> list[dict]:
    """Chat messages for (question, has audio, answer) turns, audio parts without samples."""
    conversation = Conversation([Turn(q, _NO_SAMPLES if audio else None, a) for q, audio, a in turns])
    return conversation.to_messages(with_samples=False)


_NO_SAMPLES = np.zeros(0, dtype=np.float32)  # marks "this turn had audio" where only the template matters


def _thinks(spec) -> bool:
    return bool(getattr(spec, "thinks", False))


def _kv_bytes_per_token(loaded) -> int:
    text = loaded.model.config.text_config
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    return 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim * loaded.dtype.itemsize


def _context_budget(device: str) -> int:
    if device == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(0).total_memory * CONTEXT_CACHE_GPU_SHARE)
    return CONTEXT_CACHE_BYTES_CPU


def _validate_turns(request: AskRequest) -> None:
    if not request.turns or request.turns[-1].answer is not None:
        raise RequestError("Nothing to answer: the last turn already has an answer.")
    last = request.turns[-1]
    if not last.question.strip() and last.audio is None and not last.audio_path:
        raise RequestError("The question is empty: type or say what you want to know.")


def handle(engine: Engine, op: str, request, should_cancel: Callable[[], bool]) -> Iterator[Event]:
    """Run one request; every failure becomes an ``Error`` event and the engine stays usable."""
    try:
        if op == "ask":
            yield from engine.ask(request, should_cancel)
        elif op == "load":
            yield from engine.load(request)
        else:
            raise RequestError(f"Unknown engine operation {op!r}.")
    except HeronError as exc:
        log.info("request failed: %s", exc)
        yield Error(exc.kind, exc.message)
    except MemoryError:
        engine.unload()
        yield Error("out_of_memory", "The computer ran out of memory. Close other programs or use nf4.")
    except Exception as exc:
        log.error("unexpected engine error\n%s", traceback.format_exc())
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        yield Error("internal", f"Unexpected engine error ({message}). Details are in the engine log.")


def serve(conn, log_dir: str | None = None) -> None:
    """Entry point of the engine process."""
    _setup_logging(log_dir)
    _quiet_libraries()
    _use_all_cores()
    inbox: queue.Queue = queue.Queue()
    cancelled: set[int] = set()
    threading.Thread(target=_read_messages, args=(conn, inbox, cancelled), daemon=True).start()
    engine = Engine()
    log.info("engine started, pid %d", os.getpid())
    while (message := inbox.get()) is not None:
        op, request_id, request = message
        for event in handle(engine, op, request, lambda rid=request_id: rid in cancelled):
            conn.send((request_id, event))
        cancelled.discard(request_id)
    log.info("engine stopping")


def _read_messages(conn, inbox: queue.Queue, cancelled: set[int]) -> None:
    try:
        while True:
            message = conn.recv()
            if message[0] == "cancel":
                cancelled.add(message[1])
            elif message[0] == "shutdown":
                break
            else:
                inbox.put(message)
    except (EOFError, OSError):
        pass  # the caller went away: finish up
    inbox.put(None)


def _use_all_cores() -> None:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)


def _quiet_libraries() -> None:
    """Library progress bars and notices are not for the user's terminal."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _setup_logging(log_dir: str | None, name: str = "engine") -> None:
    """``name``.log in ``log_dir``, and what native libraries print in ``name``-output.log."""
    if not log_dir:
        return
    from logging.handlers import RotatingFileHandler

    Path(log_dir).mkdir(parents=True, exist_ok=True)
    log_path = Path(log_dir) / f"{name}.log"
    _redirect_output(log_path.with_name(f"{name}-output.log"))
    handler = RotatingFileHandler(log_path, maxBytes=2_000_000, backupCount=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _redirect_output(path: Path) -> None:
    """Send what native libraries print (bitsandbytes, CUDA, a crash) to a file, not the caller's terminal."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
