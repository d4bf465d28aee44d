"""Errors worded for the window: the engine words its advice for the command line ("use --device
cpu", "run: heron models download think"), and a person in the window needs the place to click
instead. The notice banner and the turns' errors pass through here."""

from __future__ import annotations

import re

from engine.events import Error, Event

# Command-line advice → where the same choice is in the window. The most specific first.
_DOWNLOAD = r"`?heron models download ([\w-]+)(?: URL\|FOLDER)?`?"
_ADVICE = (
    (re.compile(rf"[Rr]un:? {_DOWNLOAD} — or pass --model with a folder"), "download or import it in Tools → Models"),
    (re.compile(rf"[Rr]un:? {_DOWNLOAD}"), "download it in Tools → Models"),
    (re.compile(rf"(?:add it with|run) {_DOWNLOAD}"), "add it in Tools → Models"),
    (re.compile(r" \(`?heron models list`? shows the voices\)"), ""),
    (re.compile(r"[Pp]ass --model with (?:an existing|an AF-Next|a) folder"), "import a folder in Tools → Models"),
    (re.compile(r"(use|or use|choose) --device cpu"), r"\1 the CPU (Tools → Settings → Model → Run on)"),
    (re.compile(r"--device (\S+)"), r"“Run on” \1 (Tools → Settings → Model)"),
    (re.compile(r"--precision (\w+)"), r"the \1 precision (Tools → Settings → Model → Precision)"),
    (re.compile(r"choose another with --(?:input|output)"), "choose another in Tools → Settings → Sound"),
    (re.compile(r"--max-new-tokens"), "“Longest answer” in Tools → Settings → Model"),
    (re.compile(r"--adapter"), "an adapter in Tools → Models"),
    (re.compile(r"connect with --server\b"), "connect to it in Tools → Settings → Engine"),
    (re.compile(r"--server\b|--engine\b"), "Tools → Settings → Engine"),
    (re.compile(r"`(heron [a-z]+)`"), r"\1"),
)  # fmt: skip


def for_window(message: str) -> str:
    for pattern, place in _ADVICE:
        message = pattern.sub(lambda found, place=place: _same_case(found, found.expand(place)), message)
    return message


def _same_case(found: re.Match, text: str) -> str:
    """A sentence that began with the advice still begins with a capital."""
    return text[:1].upper() + text[1:] if found.group(0)[:1].isupper() else text


def worded_for_window(event: Event) -> Event:
    """``event``, with an Error's advice pointing at the window's own controls."""
    if isinstance(event, Error):
        return Error(event.kind, for_window(event.message))
    return event
