"""Implementations of ``engine.interface.Engine`` and how the app shares one.

- ``local``: the model in a child process on this computer;
- ``remote``: the model on a server (``heron serve``, or any OpenAI-compatible one such as vLLM),
  over the protocol of ``openai_wire``;
- ``shared``: one engine, several users (typed questions, the voice conversation);
- ``bridge``: an engine's events as Qt signals, for the window.
"""

from __future__ import annotations

import os

from engine.interface import Engine

TOKEN_ENV = "HERON_SERVER_TOKEN"


def open_engine(server: str | None, log_dir: str | None, token: str | None = None) -> Engine:
    """The engine that answers: a server's when ``server`` is given, else a local process."""
    if server:
        from app.engines.remote import RemoteEngine

        return RemoteEngine(server, token or os.environ.get(TOKEN_ENV) or None)
    from app.engines.local import LocalEngine

    return LocalEngine(log_dir=log_dir)
