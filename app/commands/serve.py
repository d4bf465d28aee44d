"""``heron serve``: answer other Heron desktops (and any OpenAI-compatible client) over HTTP."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from dataclasses import replace

from app import paths
from app.commands.options import add_model_options, token_count
from app.engines import TOKEN_ENV
from engine.errors import HeronError
from engine.events import Done, Error, Progress, stage_label
from engine.requests import LoadRequest, ModelChoice


def register(commands) -> None:
    parser = commands.add_parser(
        "serve", help="serve the model over HTTP (OpenAI-compatible) to other desktops"
    )
    add_model_options(parser)
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this computer only)"
    )
    parser.add_argument("--port", type=int, default=8000, help="default: 8000")
    parser.add_argument(
        "--token",
        help=f"required from clients (default: ${TOKEN_ENV}; generated when listening beyond this computer)",
    )
    parser.add_argument(
        "--queue-depth",
        type=int,
        default=4,
        metavar="N",
        help="questions running or waiting before 503 (default: 4)",
    )
    parser.add_argument("--max-request-mb", type=float, default=64.0, metavar="MB", help="default: 64")
    parser.add_argument(
        "--max-audio-min", type=float, default=180.0, metavar="MIN", help="audio per request (default: 180)"
    )
    parser.add_argument(
        "--max-new-tokens",
        type=token_count,
        default=4096,
        metavar="N",
        help="the most a client may ask for (default: 4096)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from app.engines.local import LocalEngine
    from app.engines.shared import SharedEngine
    from app.server.config import ServeConfig, new_token
    from app.server.routes import build_app

    token = args.token or os.environ.get(TOKEN_ENV) or None
    if token is None and not _loopback(args.host):
        token = new_token()
        print(f"heron serve: clients need this token (shown once): {token}", file=sys.stderr)
    choice = ModelChoice(args.model or "instruct", str(paths.models_dir()), args.precision, args.device,
                         cache_dir=str(paths.cache_dir()))  # fmt: skip
    config = ServeConfig(choice, _model_id(choice.model), str(paths.adapters_dir()), args.host, args.port, token,
                         args.queue_depth, args.max_request_mb, args.max_audio_min, args.max_new_tokens)  # fmt: skip
    engine = LocalEngine(log_dir=str(paths.logs_dir()))
    try:
        config = replace(config, max_audio_s=_load(engine, choice).get("max_audio_s"))
        print(
            f"heron serve: {config.model_id} answering at http://{args.host}:{args.port}/v1", file=sys.stderr
        )
        uvicorn.run(
            build_app(config, SharedEngine(engine)), host=args.host, port=args.port, log_level="warning"
        )
    finally:
        engine.shutdown()
    return 0


def _load(engine, choice: ModelChoice) -> dict:
    """Load the model before listening, so the first question does not wait for it; what loaded."""
    for event in engine.load(LoadRequest(choice)):
        if isinstance(event, Progress) and event.done == 0:
            print(f"heron serve: {stage_label(event.stage)}…", file=sys.stderr)
        elif isinstance(event, Error):
            raise HeronError(event.message)
        elif isinstance(event, Done):
            return event.stats
    return {}


def _model_id(model: str) -> str:
    from pathlib import Path

    return Path(model).name if os.sep in model or Path(model).is_dir() else model


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
