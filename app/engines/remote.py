"""A remote engine: the model answers from a server (``heron serve``, or vLLM), over HTTP.

It is an ``engine.interface.Engine`` like the local one, so the window, ``heron ask``, ``heron
chat`` and the voice loop need no special case. Each ask sends the whole conversation (audio
encoded compactly: ``openai_wire.encode_audio``); the server recognises what it has prefilled
already, so a follow-up pays only for the new turn. Cancel closes the stream; a server lost
mid-answer ends the answer with an ``Error`` and leaves the next ask free to retry. ``https://``
addresses are checked against the system's certificates.
"""

from __future__ import annotations

import json
import queue
import ssl
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import numpy as np

from app.engines.openai_wire import events_of_chunk, messages_of
from engine.audio import SAMPLE_RATE, decode_audio, probe_audio
from engine.audio.recording import ArrayRecording, FileRecording, Recording
from engine.errors import HeronError
from engine.events import Done, Error, Event, Step, TextDelta, ThinkDelta
from engine.interface import EngineState, Health
from engine.longform.pipeline import answer_in_windows
from engine.reasoning import StepEvents, with_steps
from engine.reasoning.thinking import ThinkSplitter
from engine.requests import AskRequest, LoadRequest, ModelChoice, TurnSpec

CONNECT_TIMEOUT_S = 5.0
POLL_S = 0.02  # how often a wait for the server looks at the cancel flag
DEFAULT_WINDOW_S = 600.0  # a server that does not say (vLLM refuses clips over 10 min by default)
SERVER = "server"  # the Error kind of everything that goes wrong between here and the server


class RemoteEngine:
    def __init__(self, url: str, token: str | None = None, model: str | None = None):
        self.base = url.rstrip("/").removesuffix("/v1")
        self.model = model  # the name to ask for; None: the first the server lists
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        timeout = httpx.Timeout(CONNECT_TIMEOUT_S, read=None)  # an answer may think for minutes
        self._http = httpx.Client(headers=headers, timeout=timeout, verify=ssl.create_default_context())
        self._response: httpx.Response | None = None
        self._cancelled = threading.Event()
        self._busy = False
        self._decoded: dict[tuple, np.ndarray] = {}  # the last recording sent, decoded once
        self._lengths: dict[tuple, float] = {}  # the last recording's probed length
        self._served: list[str] | None = None  # the names the server answers to, once asked
        self._window_s: dict[str, float] = {}  # the most audio each hears at once

    # -- engine.interface.Engine ------------------------------------------------------------------
    def ask(self, request: AskRequest) -> Iterator[Event]:
        self._cancelled.clear()
        self._busy = True
        try:
            yield from self._answer(request)
        except _Cancelled:
            yield Done.cancelled()
        except _Failed as failed:
            yield failed.error
        except HeronError as exc:  # a recording that cannot be read here
            yield Error(exc.kind, exc.message)
        except httpx.ConnectError as exc:
            yield self._unreachable(exc)
        except (httpx.HTTPError, httpx.StreamError, OSError, ValueError) as exc:
            yield Error(SERVER, f"The server stopped answering mid-answer ({_one_line(exc)}). "
                                "What was said so far is kept; ask again to retry.")  # fmt: skip
        finally:
            self._busy, self._response = False, None

    def load(self, request: LoadRequest) -> Iterator[Event]:
        """The server has its model loaded: say what answers, or why it cannot."""
        try:
            served = self.models()
        except httpx.HTTPError as exc:
            yield self._unreachable(exc)
            return
        yield Done({"model": self.model or served[0], "device": f"server {self.base}", "served": served})

    def cancel(self) -> None:
        self._cancelled.set()
        response = self._response
        if response is not None:
            response.close()  # the server sees the disconnect and stops generating

    def shutdown(self) -> None:
        self.cancel()
        self._http.close()

    def health(self) -> Health:
        try:
            reply = self._http.get(f"{self.base}/health")
            reply.raise_for_status()
        except httpx.HTTPError as exc:
            return Health(EngineState.CRASHED, self.base, detail=_one_line(exc))
        state = EngineState.BUSY if self._busy else EngineState.READY
        return Health(state, self.base, detail=json.dumps(reply.json()))

    def models(self) -> list[str]:
        """The names the server answers to (its model, then its adapters)."""
        reply = self._http.get(f"{self.base}/v1/models")
        _raise_for(reply)
        entries = reply.json().get("data", [])
        self._window_s = {
            e["id"]: ((e.get("heron") or {}).get("max_audio_s") or DEFAULT_WINDOW_S) for e in entries
        }
        return [entry["id"] for entry in entries]

    # -- asking ------------------------------------------------------------------------------------
    def _answer(self, request: AskRequest) -> Iterator[Event]:
        """The answer, from one request; or, for a recording longer than the server's model hears
        at once, window by window as the local engine does (no window over its limit goes up).
        A long file is read a window at a time, never decoded whole here."""
        asked_at = time.perf_counter()
        model = self._model_name(request.model)
        window_s = self._window_s.get(model, DEFAULT_WINDOW_S)
        recording = self._long_recording(request.turns, window_s)
        if recording is None:
            turns = tuple(replace(turn, audio=self._samples(turn), audio_path=None) for turn in request.turns)
            yield from self._stream(self._body(turns, model, request), _seconds(turns), asked_at)
            return
        *earlier, last = request.turns
        earlier_qa = [(t.question, t.answer or "") for t in earlier]

        def ask_one(text: str, clip: np.ndarray | None, at: float | None):
            body = self._body((TurnSpec(text, audio=clip),), model, request)
            return self._stream(body, 0.0, at or time.perf_counter(), steps=False)

        windowed = answer_in_windows(ask_one, recording, window_s, last.question, self._cancelled.is_set,
                                     asked_at, earlier_qa)  # fmt: skip
        yield from with_steps(windowed, recording.duration_s)

    def _long_recording(self, turns: tuple[TurnSpec, ...], window_s: float) -> Recording | None:
        """The conversation's recording when it is longer than the server's model hears at once:
        samples as they are, a file by its probed length (as ``engine/runtime/pipeline.py`` does)."""
        for turn in reversed(turns):
            if turn.audio is not None:
                if len(turn.audio) > window_s * SAMPLE_RATE:
                    return ArrayRecording(turn.audio)
            elif turn.audio_path and (seconds := self._seconds_of(turn.audio_path)) > window_s:
                return FileRecording(turn.audio_path, seconds)
        return None

    def _seconds_of(self, path: str) -> float:
        key = _file_key(path)
        if key not in self._lengths:
            self._lengths = {key: probe_audio(path).duration_s or 0.0}  # a follow-up asks again
        return self._lengths[key]

    def _stream(self, body: dict, audio_s: float, asked_at: float, steps: bool = True):
        """One completion's events; returns what it answered. Raises what ends it otherwise."""
        replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._receive, args=(body, replies), name="heron-remote", daemon=True).start()
        return (yield from _Reader(audio_s, asked_at, steps).events(self._queued(replies)))

    def _receive(self, body: dict, replies: queue.Queue) -> None:
        """The HTTP exchange, on its own thread: chunks, then None, or the exception that ended it."""
        try:
            with self._http.stream("POST", f"{self.base}/v1/chat/completions", json=body) as response:
                self._response = response
                if response.status_code != 200:
                    response.read()
                    raise _Failed(_refused(response))
                for chunk in _chunks(response):
                    replies.put(chunk)
            replies.put(None)
        except Exception as exc:  # handed to the asking thread, which says what it means
            replies.put(exc)

    def _queued(self, replies: queue.Queue) -> Iterator[dict]:
        """The chunks as they come; a cancel ends the wait at once (the stream is closed behind)."""
        while True:
            try:
                item = replies.get(timeout=POLL_S)
            except queue.Empty:
                item = False
            if self._cancelled.is_set():
                self.cancel()
                raise _Cancelled
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            if item is not False:
                yield item

    def _body(self, turns: tuple[TurnSpec, ...], model: str, request: AskRequest) -> dict:
        return {
            "model": model,
            "messages": messages_of(turns),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": request.max_new_tokens,
            "think": request.think,
        }

    def _model_name(self, choice: ModelChoice) -> str:
        """What to ask the server for: the adapter, or the model when it serves one by that name
        (a window set up for local models names a folder here), else its own."""
        if self._served is None:
            self._served = self.models()
        if choice.adapter:
            return Path(choice.adapter).name
        for name in (choice.model, Path(choice.model).name if choice.model else None, self.model):
            if name and name in self._served:
                return name
        return self.model or self._served[0]

    def _samples(self, turn: TurnSpec) -> np.ndarray | None:
        if turn.audio is not None or not turn.audio_path:
            return turn.audio
        key = _file_key(turn.audio_path)
        if key not in self._decoded:
            self._decoded = {key: decode_audio(turn.audio_path)}  # a follow-up sends it again
        return self._decoded[key]

    def _unreachable(self, exc: Exception) -> Error:
        return Error(SERVER, f"The server at {self.base} cannot be reached ({_one_line(exc)}). "
                             "Check the address and that `heron serve` runs there.")  # fmt: skip


class _Cancelled(Exception):
    pass


class _Failed(Exception):
    """The server refused the request, or said the answer failed: ``error`` says how."""

    def __init__(self, error: Error):
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class _Answered:
    answer_text: str
    finish: str


class _Reader:
    """A completion's chunks as events. A server that is not Heron (vLLM) sends no steps and may
    send the reasoning inline in ``<think>`` tags: then both are worked out here. With ``steps``
    off (a long recording's windows: the caller works steps out of the whole) none are passed on."""

    def __init__(self, audio_s: float, asked_at: float, steps: bool = True):
        self.asked_at, self.first_at = asked_at, None
        self.splitter, self.steps = ThinkSplitter(), StepEvents(audio_s or None)
        self.keep_steps = steps
        self.heron = False  # the server sends Heron's extras
        self.answer: list[str] = []

    def events(self, chunks: Iterator[dict]) -> Generator[Event, None, _Answered]:
        usage, finish, stats = {}, None, None
        for chunk in chunks:
            self.heron = self.heron or "heron" in chunk
            stats = (chunk.get("heron") or {}).get("stats", stats)
            usage = chunk.get("usage") or usage
            reasons = [c.get("finish_reason") for c in chunk.get("choices") or [] if c.get("finish_reason")]
            finish = reasons[0] if reasons else finish
            for event in events_of_chunk(chunk):
                if isinstance(event, Error):
                    raise _Failed(event)
                yield from self._passed(self._derived(event))
        if not self.heron:
            yield from self._passed(self._flush())
        done = Done(stats or self._stats(finish, usage))
        yield done
        return _Answered("".join(self.answer), done.finish or "stop")

    def _passed(self, events: Iterator[Event]) -> Iterator[Event]:
        for event in events:
            if isinstance(event, TextDelta):
                self.answer.append(event.text)
            if self.keep_steps or not isinstance(event, Step):
                yield event

    def _derived(self, event: Event) -> Iterator[Event]:
        if isinstance(event, (TextDelta, ThinkDelta)) and self.first_at is None:
            self.first_at = time.perf_counter()
        if self.heron or not isinstance(event, (TextDelta, ThinkDelta)):
            yield event
            return
        pieces = self.splitter.feed(event.text) if isinstance(event, TextDelta) else [event]
        for piece in pieces:
            yield piece
            yield from self.steps.on_event(piece)

    def _flush(self) -> Iterator[Event]:
        for piece in self.splitter.flush():
            yield piece
            yield from self.steps.on_event(piece)
        yield from self.steps.finish()

    def _stats(self, finish: str | None, usage: dict) -> dict:
        now = time.perf_counter()
        return {
            "finish": finish or "stop",
            "prompt_tokens": usage.get("prompt_tokens"),
            "new_tokens": usage.get("completion_tokens"),
            "ttft_s": round(self.first_at - self.asked_at, 4) if self.first_at else None,
            "total_s": round(now - self.asked_at, 4),
        }


def _file_key(path: str) -> tuple:
    stat = Path(path).stat()
    return (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def _seconds(turns: tuple[TurnSpec, ...]) -> float:
    return sum(len(t.audio) for t in turns if t.audio is not None) / SAMPLE_RATE


def _chunks(response: httpx.Response) -> Iterator[dict]:
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        yield json.loads(data)
    raise httpx.RemoteProtocolError("the stream ended without [DONE]")


def _refused(response: httpx.Response) -> Error:
    try:
        error = response.json().get("error") or {}
        message = error.get("message") or response.text
    except ValueError:
        message = response.text
    kind = {401: "unauthorized", 413: "request", 400: "request", 404: "model", 503: "busy"}.get(
        response.status_code, SERVER
    )
    return Error(kind, f"The server refused: {_one_line(message)} (HTTP {response.status_code})")


def _raise_for(reply: httpx.Response) -> None:
    if reply.status_code != 200:
        raise httpx.HTTPStatusError(_refused(reply).message, request=reply.request, response=reply)


def _one_line(value) -> str:
    return " ".join(str(value).split())[:300]
