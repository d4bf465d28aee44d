"""The engine process: owns the model, answers requests, streams events back.

The app's ``LocalEngine`` starts ``serve`` in a child process and talks to it over a
``multiprocessing`` connection in the messages of ``engine.runtime.protocol``. A reader thread
takes messages as they come, so that a ``Cancel`` reaches a request that is running.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator

from engine.events import Event
from engine.runtime.failures import guarded
from engine.runtime.host import ModelHost
from engine.runtime.logs import quiet_libraries, setup_logging
from engine.runtime.pipeline import answer
from engine.runtime.protocol import Ask, Cancel, Load, Reply, Request, Shutdown

log = logging.getLogger("heron.engine")
OUT_OF_MEMORY = "The computer ran out of memory. Close other programs or use nf4."


def serve(conn, log_dir: str | None = None) -> None:
    """Entry point of the engine process."""
    setup_logging(log_dir, "engine")
    quiet_libraries()
    _use_all_cores()
    inbox: queue.Queue[Request | None] = queue.Queue()
    cancelled: set[int] = set()
    threading.Thread(target=_read_messages, args=(conn, inbox, cancelled), daemon=True).start()
    host = ModelHost()
    log.info("engine started, pid %d", os.getpid())
    while (request := inbox.get()) is not None:
        rid = request.request_id
        for event in handle(host, request, lambda rid=rid: rid in cancelled):
            conn.send(Reply(rid, event))
        cancelled.discard(rid)
    log.info("engine stopping")
    logging.shutdown()
    os._exit(0)  # nothing left to save: skip tearing down torch and its threads (seconds)


def handle(host: ModelHost, request: Request, should_cancel: Callable[[], bool]) -> Iterator[Event]:
    """Run one request; every failure becomes an ``Error`` event and the engine stays usable."""
    if isinstance(request, Ask):
        stream = answer(host, request.request, should_cancel)
    else:
        stream = host.load(request.request)
    return guarded(stream, log, "engine", OUT_OF_MEMORY, on_out_of_memory=host.unload)


def _read_messages(conn, inbox: queue.Queue, cancelled: set[int]) -> None:
    try:
        while not isinstance(message := conn.recv(), Shutdown):
            if isinstance(message, Cancel):
                cancelled.add(message.request_id)
            elif isinstance(message, (Ask, Load)):
                inbox.put(message)
    except (EOFError, OSError):
        pass  # the caller went away: finish up
    inbox.put(None)


def _use_all_cores() -> None:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
