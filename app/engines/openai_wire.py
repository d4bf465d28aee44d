"""Heron's requests and events in the OpenAI-compatible chat-completions protocol, both ways.

What vLLM's OpenAI-compatible server accepts for audio is what goes over the wire: a user
message's content is a list of parts, ``{"type": "text", "text": …}`` and
``{"type": "input_audio", "input_audio": {"data": base64, "format": "flac"}}``; answers stream as
server-sent events of ``chat.completion.chunk`` objects ending with ``data: [DONE]``. Heron's
extras ride in fields other clients ignore: ``delta.reasoning_content`` (the reasoning, as vLLM's
reasoning parsers send it), ``heron.step``, ``heron.progress`` and, in the last chunk,
``heron.stats`` (time to first token and the engine's other figures).
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from engine.audio import SAMPLE_RATE
from engine.events import Done, Error, Event, Finish, Progress, Step, TextDelta, ThinkDelta
from engine.requests import TurnSpec

OPUS_AFTER_S = 60.0  # longer clips go as Opus (≈ 8 MB per 30 min); shorter ones as lossless FLAC
OPUS_BITRATE = 24_000
FINISH_REASONS = {Finish.STOP: "stop", Finish.LENGTH: "length", Finish.CANCELLED: "stop"}


# -- audio ---------------------------------------------------------------------------------------
def encode_audio(samples: np.ndarray) -> dict[str, str]:
    """16 kHz mono samples as an ``input_audio`` object: FLAC, or Opus for a long clip."""
    if len(samples) > OPUS_AFTER_S * SAMPLE_RATE:
        return {"data": base64.b64encode(_opus(samples)).decode("ascii"), "format": "ogg"}
    buffer = io.BytesIO()
    import soundfile

    soundfile.write(buffer, np.clip(samples, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return {"data": base64.b64encode(buffer.getvalue()).decode("ascii"), "format": "flac"}


def _opus(samples: np.ndarray) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000, layout="mono")
        stream.bit_rate = OPUS_BITRATE
        stream.codec_context.options = {"compression_level": "0"}  # ≈ 0.1 s per minute of audio
        frame = av.AudioFrame.from_ndarray(samples[None, :].astype(np.float32), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in (*stream.encode(frame), *stream.encode(None)):
            out.mux(packet)
    return buffer.getvalue()


def audio_bytes(part: dict[str, Any]) -> bytes:
    """The bytes of an ``input_audio`` part (raises ValueError on malformed base64)."""
    data = (part.get("input_audio") or {}).get("data")
    if not isinstance(data, str):
        raise ValueError("an input_audio part needs its audio as base64 in input_audio.data")
    return base64.b64decode(data, validate=True)


# -- requests ------------------------------------------------------------------------------------
def messages_of(turns: tuple[TurnSpec, ...]) -> list[dict]:
    """The conversation as chat messages; each turn's audio as samples (``TurnSpec.audio``)."""
    messages: list[dict] = []
    for turn in turns:
        parts: list[dict] = []
        if turn.audio is not None:
            parts.append({"type": "input_audio", "input_audio": encode_audio(turn.audio)})
        if turn.question:
            parts.append({"type": "text", "text": turn.question})
        messages.append({"role": "user", "content": parts})
        if turn.answer is not None:
            messages.append({"role": "assistant", "content": turn.answer})
    return messages


def turns_of(messages: list[dict], decode: Callable[[bytes], np.ndarray]) -> tuple[TurnSpec, ...]:
    """Chat messages as turns (the last one to answer); ``decode`` turns audio bytes into samples.

    Raises ValueError with a one-line reason for a conversation that cannot be answered.
    """
    turns: list[TurnSpec] = []
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":
            continue  # AF-Next's chat template brings its own system prompt
        if role == "assistant":
            if not turns or turns[-1].answer is not None:
                raise ValueError("an assistant message must follow a user message")
            turns[-1] = TurnSpec(turns[-1].question, None, _text(message.get("content")), turns[-1].audio)
        elif role == "user":
            if turns and turns[-1].answer is None:
                raise ValueError("two user messages in a row: put both parts in one message")
            turns.append(_user_turn(message.get("content"), decode))
        else:
            raise ValueError(f"unknown message role {role!r}")
    if not turns or turns[-1].answer is not None:
        raise ValueError("the last message must be the user's question")
    return tuple(turns)


def _user_turn(content: Any, decode: Callable[[bytes], np.ndarray]) -> TurnSpec:
    if isinstance(content, str):
        return TurnSpec(content)
    if not isinstance(content, list):
        raise ValueError("a user message's content must be text or a list of parts")
    text, audio = [], None
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text.append(str(part.get("text", "")))
        elif kind == "input_audio":
            if audio is not None:
                raise ValueError("one audio part per message")
            audio = decode(audio_bytes(part))
        else:
            raise ValueError(f"unsupported content part {kind!r} (text and input_audio are)")
    return TurnSpec(" ".join(text), audio=audio)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


# -- events --------------------------------------------------------------------------------------
class ChunkWriter:
    """Events as ``chat.completion.chunk`` objects of one completion."""

    def __init__(self, model: str, include_usage: bool):
        self.id = f"chatcmpl-heron-{time.time_ns():x}"
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage

    def chunk(self, event: Event) -> dict | None:
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, ThinkDelta):
            return self._chunk({"reasoning_content": event.text})
        if isinstance(event, Step):
            return self._chunk({}, heron={"step": event.to_dict()})
        if isinstance(event, Progress):
            return self._chunk({}, heron={"progress": event.to_dict()})
        if isinstance(event, Done):
            return self._last(event.stats)
        if isinstance(event, Error):
            return {**self._chunk({}), "error": {"message": event.message, "type": event.kind}}
        return None

    def _chunk(self, delta: dict, finish: str | None = None, **extra: Any) -> dict:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [choice], **extra}  # fmt: skip

    def _last(self, stats: dict) -> dict:
        stats = json.loads(json.dumps(stats, default=str))  # numpy scalars and enums as plain values
        last = self._chunk({}, FINISH_REASONS.get(stats.get("finish"), "stop"), heron={"stats": stats})
        if self.include_usage:
            prompt, new = int(stats.get("prompt_tokens", 0)), int(stats.get("new_tokens", 0))
            last["usage"] = {"prompt_tokens": prompt, "completion_tokens": new, "total_tokens": prompt + new}
        return last


def sse(data: dict | str) -> bytes:
    """One server-sent event."""
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n".encode()


def events_of_chunk(chunk: dict) -> Iterator[Event]:
    """The events one chunk stands for (Heron's extras included when the server sends them)."""
    if "error" in chunk:
        error = chunk["error"] or {}
        yield Error(str(error.get("type") or "server"), str(error.get("message") or "The server failed."))
        return
    heron = chunk.get("heron") or {}
    if "progress" in heron:
        p = heron["progress"]
        yield Progress(p["stage"], p["done"], p.get("total"))
    if "step" in heron:
        yield Step(**{k: v for k, v in heron["step"].items() if k != "type"})
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        if delta.get("reasoning_content"):
            yield ThinkDelta(delta["reasoning_content"])
        if delta.get("content"):
            yield TextDelta(delta["content"])
