"""Which engine answers, as the settings say: the model on this computer, or a server."""

from __future__ import annotations

import time

from app import paths
from app.engines import open_engine
from engine.interface import Engine

ENGINE_SETTINGS = ("engine", "server_url", "server_token")


def engine_from(settings) -> Engine:
    server = settings.server_url if settings.engine == "server" else None
    return open_engine(server, str(paths.logs_dir()), settings.server_token or None)


def check_server(url: str, token: str) -> str:
    """What the settings' "Test connection" shows: the models served and the round trip, or why not."""
    import httpx

    from app.engines.remote import RemoteEngine

    if not url:
        return "Type the server's address first, e.g. http://gpu-box:8000."
    server = RemoteEngine(url, token or None)
    try:
        started = time.perf_counter()
        served = server.models()
        took_ms = (time.perf_counter() - started) * 1000
    except httpx.HTTPError as exc:
        return f"✗ {' '.join(str(exc).split())[:200]}"
    finally:
        server.shutdown()
    return f"✓ Connected in {took_ms:.0f} ms. Serving: {', '.join(served) or 'nothing'}."
