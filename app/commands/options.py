"""Options that several commands share, each defined once."""

from __future__ import annotations

import argparse

from engine.model.precision import PRECISIONS
from engine.requests import MAX_NEW_TOKENS_LIMIT


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --precision and --device: which model answers, and how it runs."""
    parser.add_argument("--model", help="instruct, think, captioner, or a model folder (default: instruct)")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="default: the largest that fits in free memory: bf16, int8, then nf4",
    )
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), help="where the model runs (default: CUDA when present)"
    )


def token_count(value: str) -> int:
    """An answer's length in new tokens, as typed after --max-new-tokens."""
    if not value.isdigit() or not 1 <= int(value) <= MAX_NEW_TOKENS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_NEW_TOKENS_LIMIT}, not {value!r}"
        )
    return int(value)


def add_server_option(parser: argparse.ArgumentParser) -> None:
    """--server: answer from a server instead of a model on this computer."""
    parser.add_argument(
        "--server",
        metavar="URL",
        help="answer from `heron serve` or an OpenAI-compatible server (token: $HERON_SERVER_TOKEN)",
    )
