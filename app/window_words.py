"""Errors worded for the window: the engine words its advice for the command line ("use --device
cpu"), and a person in the window needs the place to click instead."""

from __future__ import annotations

import re

from engine.events import Error, Event

# Command-line advice → where the same choice is in the window.
_ADVICE = (
    (re.compile(r"(use|or use|choose) --device cpu"), r"\1 the CPU (Tools → Settings → Model → Run on)"),
    (re.compile(r"--device (\S+)"), r"“Run on” \1 (Tools → Settings → Model)"),
    (re.compile(r"--precision (\w+)"), r"the \1 precision (Tools → Settings → Model → Precision)"),
    (re.compile(r"--max-new-tokens"), "“Longest answer” in Tools → Settings → Model"),
    (re.compile(r"--adapter"), "an adapter in Tools → Models"),
    (re.compile(r"(heron models (download|import)|--model)\b"), "Tools → Models"),
    (re.compile(r"connect with --server\b"), "connect to it in Tools → Settings → Engine"),
    (re.compile(r"--server\b|--engine\b"), "Tools → Settings → Engine"),
    (re.compile(r"`(heron [a-z]+)`"), r"\1"),
)


def for_window(message: str) -> str:
    for pattern, place in _ADVICE:
        message = pattern.sub(place, message)
    return message


def worded_for_window(event: Event) -> Event:
    """``event``, with an Error's advice pointing at the window's own controls."""
    if isinstance(event, Error):
        return Error(event.kind, for_window(event.message))
    return event
