"""The HTTP endpoints of ``heron serve`` (Starlette, run by uvicorn).

``POST /v1/chat/completions`` (streamed as server-sent events, or whole), ``GET /v1/models`` and
``GET /health``. Every failure a client can cause gets a 4xx with one line in OpenAI's error
shape; nothing else (no stack trace, no token, no audio) ever leaves the server or reaches its log.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.engines.openai_wire import ChunkWriter, sse, turns_of
from app.engines.shared import SharedEngine
from app.server.asks import Admission, answer
from app.server.config import ServeConfig
from engine.audio import SAMPLE_RATE, decode_audio
from engine.errors import AudioError
from engine.events import Done, Error
from engine.requests import AskRequest, ModelChoice

log = logging.getLogger("heron.serve")
RETRY_AFTER_S = 2


class Refusal(Exception):
    """A request the server will not run: an HTTP status and one line that says why."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(RETRY_AFTER_S)} if self.status == 503 else None
        return JSONResponse({"error": {"message": self.message, "type": self.kind}}, self.status, headers)


def build_app(config: ServeConfig, shared: SharedEngine) -> Starlette:
    admission = Admission(config.queue_depth)

    async def chat_completions(request: Request) -> Response:
        try:
            body = await _json_body(request, config.max_request_bytes)
            ask = await _ask_request(body, config)
            if not admission.enter():
                raise Refusal(503, "The server is busy: too many questions are waiting. Try again shortly.",
                              "server_busy")  # fmt: skip
        except Refusal as refusal:
            return refusal.response()
        writer = ChunkWriter(ask.model.adapter and Path(ask.model.adapter).name or config.model_id,
                             bool((body.get("stream_options") or {}).get("include_usage")))  # fmt: skip
        events = _admitted(answer(shared, ask), admission)
        if body.get("stream"):
            return StreamingResponse(_sse(events, writer), media_type="text/event-stream")
        return JSONResponse(await _whole(events, writer))

    async def models(request: Request) -> Response:
        entries = [_model_entry(name, config.max_audio_s) for name in _served(config)]
        return JSONResponse({"object": "list", "data": entries})

    async def health(request: Request) -> Response:
        state = shared.engine.health()
        return JSONResponse({"status": "ok", "engine": state.state.value, "model": config.model_id,
                             "queue": admission.count, "queue_depth": admission.depth})  # fmt: skip

    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(TokenGate, token=config.token)
    return app


class TokenGate:
    """Every request carries ``Authorization: Bearer TOKEN`` when the server has a token."""

    def __init__(self, app, token: str | None):
        self.app, self.expected = app, f"Bearer {token}".encode() if token else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self.expected is not None:
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                refusal = Refusal(
                    401, "A valid token is needed: send Authorization: Bearer TOKEN.", "unauthorized"
                )
                await refusal.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _json_body(request: Request, limit: int) -> dict:
    too_big = Refusal(413, f"The request is larger than the server's limit of {limit // 2**20} MB.",
                      "request_too_large")  # fmt: skip
    if int(request.headers.get("content-length") or 0) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    import json

    try:
        body = json.loads(b"".join(chunks))
    except ValueError as exc:
        raise Refusal(400, f"The request is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise Refusal(400, "The request must be a JSON object.")
    return body


async def _ask_request(body: dict, config: ServeConfig) -> AskRequest:
    try:
        turns = await asyncio.to_thread(turns_of, body.get("messages") or [], _decode)
    except AudioError as exc:
        raise Refusal(400, exc.message, "bad_audio") from None
    except ValueError as exc:
        raise Refusal(400, f"The conversation cannot be answered: {exc}.") from None
    audio_s = sum(len(t.audio) for t in turns if t.audio is not None) / SAMPLE_RATE
    if audio_s > config.max_audio_min * 60:
        raise Refusal(413, f"The audio is {audio_s / 60:.0f} minutes long; this server takes at most "
                           f"{config.max_audio_min:g} minutes per request.", "audio_too_long")  # fmt: skip
    tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 512
    if not isinstance(tokens, int) or not 1 <= tokens <= config.max_new_tokens:
        raise Refusal(400, f"max_tokens must be a whole number from 1 to {config.max_new_tokens}.")
    return AskRequest(turns, _model_choice(body.get("model"), config), tokens, bool(body.get("think")))


def _decode(data: bytes) -> np.ndarray:
    """Uploaded audio through the same decoder (and the same one-line refusals) as a local file."""
    with tempfile.NamedTemporaryFile(prefix="heron-upload-") as upload:
        upload.write(data)
        upload.flush()
        try:
            return decode_audio(upload.name)
        except AudioError as exc:
            raise AudioError(_anonymous(exc.message, Path(upload.name))) from None


def _anonymous(message: str, upload: Path) -> str:
    """A decoder's message about the upload, without the server's temporary file name."""
    for name in (f"'{upload}'", f"'{upload.name}'", str(upload), upload.name):
        message = message.replace(name, "the uploaded audio")
    return message


def _model_choice(requested, config: ServeConfig) -> ModelChoice:
    if requested in (None, "", config.model_id):
        return config.model
    adapter = Path(config.adapters_dir) / str(requested)
    if str(requested) in _served(config)[1:]:
        return ModelChoice(**{**config.model.__dict__, "adapter": str(adapter)})
    raise Refusal(404, f"This server does not serve {requested!r}; see /v1/models.", "model_not_found")


def _served(config: ServeConfig) -> list[str]:
    """The model, then the adapters it can answer with."""
    from engine.trainer.adapters import find_adapters

    return [config.model_id, *(a.name for a in find_adapters(Path(config.adapters_dir)))]


def _model_entry(name: str, max_audio_s: float | None) -> dict:
    """An OpenAI model entry; ``heron.max_audio_s`` tells Heron clients how long a window may be."""
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "heron",
        "heron": {"max_audio_s": max_audio_s},
    }


async def _admitted(events: AsyncIterator, admission: Admission) -> AsyncIterator:
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()  # the answer is cancelled if it was left early
        admission.leave()


async def _sse(events: AsyncIterator, writer: ChunkWriter) -> AsyncIterator[bytes]:
    async for event in events:
        chunk = writer.chunk(event)
        if chunk is not None:
            yield sse(chunk)
    yield sse("[DONE]")


async def _whole(events: AsyncIterator, writer: ChunkWriter) -> dict:
    """A non-streamed completion: the answer, its reasoning, and Heron's extras."""
    text, reasoning, steps, last = [], [], [], None
    async for event in events:
        chunk = writer.chunk(event)
        if isinstance(event, Error):
            return {"error": chunk["error"]}
        if isinstance(event, Done):
            last = chunk
        for choice in (chunk or {}).get("choices", []):
            text.append(choice["delta"].get("content", ""))
            reasoning.append(choice["delta"].get("reasoning_content", ""))
        steps += [chunk["heron"]["step"]] if chunk and "step" in chunk.get("heron", {}) else []
    message = {"role": "assistant", "content": "".join(text), "reasoning_content": "".join(reasoning) or None}
    choice = {"index": 0, "message": message, "finish_reason": last["choices"][0]["finish_reason"]}
    whole = {**last, "object": "chat.completion", "choices": [choice]}
    whole["heron"] = {**last["heron"], "steps": steps}
    return whole
