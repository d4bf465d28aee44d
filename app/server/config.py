"""What ``heron serve`` is started with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from engine.requests import ModelChoice

LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class ServeConfig:
    model: ModelChoice  # what answers
    model_id: str  # the name clients ask for (``/v1/models``)
    adapters_dir: str  # adapters found here are served too, by folder name
    host: str = LOCALHOST
    port: int = 8000
    token: str | None = None  # required on every request when set
    queue_depth: int = 4  # requests running or waiting; more get 503
    max_request_mb: float = 64.0
    max_audio_min: float = 180.0  # audio in one request, all turns together
    max_new_tokens: int = 4096
    max_audio_s: float | None = None  # the most audio the model hears at once (clients cut windows to it)

    @property
    def max_request_bytes(self) -> int:
        return int(self.max_request_mb * 1024 * 1024)


def new_token() -> str:
    return secrets.token_urlsafe(24)
