"""Every failure of a child process's work becomes one ``Error`` event; the process lives on."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator

from engine.errors import HeronError
from engine.events import Error, Event


def guarded(
    stream: Iterator[Event],
    log: logging.Logger,
    what: str,
    out_of_memory: str,
    on_out_of_memory: Callable[[], None] = lambda: None,
) -> Iterator[Event]:
    """``stream``'s events; a failure ends it with an ``Error`` (``what``: "engine", "training")."""
    try:
        yield from stream
    except HeronError as exc:
        log.info("request failed: %s", exc)
        yield Error(exc.kind, exc.message)
    except MemoryError:
        on_out_of_memory()
        yield Error("out_of_memory", out_of_memory)
    except Exception as exc:
        log.error("unexpected %s error\n%s", what, traceback.format_exc())
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        yield Error("internal", f"Unexpected {what} error ({message}). Details are in the {what} log.")
