"""An engine seen from Qt: requests run in a worker thread, events arrive as signals.

The window never waits on the model: ``ask``/``load`` return at once; each event reaches the
GUI thread through a queued signal. One request runs at a time; asking while one runs cancels it.
An answer's events come as ``event`` and its end as ``ask_over``; a load's come as ``load_event``,
so a load that ends after a question was asked never reaches that question's turn.
The bridge asks through its own ``EngineView`` of the shared engine, so the voice conversation
(another view) and typed questions take turns on one model.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from app.engines.shared import SharedEngine
from engine.events import Error
from engine.requests import AskRequest, LoadRequest
from ui.window_words import worded_for_window


class EngineBridge(QObject):
    event = Signal(object)  # every Event of the running answer, in order
    ask_over = Signal()  # the answer's request ended (after its last event)
    load_event = Signal(object)  # every Event of a load request
    busy_changed = Signal(bool)
    restarted = Signal(str)  # the engine crashed and a fresh one will serve the next request

    def __init__(self, shared: SharedEngine, parent: QObject | None = None):
        super().__init__(parent)
        self.shared = shared  # the voice conversation asks through it too
        self._view = shared.view()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def ask(self, request: AskRequest) -> None:
        self._run(lambda: self._view.ask(request), self.event, self.ask_over)

    def load(self, request: LoadRequest) -> None:
        self._run(lambda: self._view.load(request), self.load_event)

    def cancel(self) -> None:
        if self.busy:
            self._view.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running request has ended (tests and shutdown only)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return not self.busy

    def shutdown(self) -> None:
        self.cancel()
        self.wait(2.0)
        self.shared.engine.shutdown()

    def _run(self, start, event: Signal, over: Signal | None = None) -> None:
        with self._lock:
            if self.busy:
                self._view.cancel()
                self._worker.join()
            self._worker = threading.Thread(
                target=self._pump, args=(start, event, over), name="heron-engine-bridge", daemon=True
            )
            self.busy_changed.emit(True)
            self._worker.start()

    def _pump(self, start, signal: Signal, over: Signal | None) -> None:
        try:
            for event in start():
                signal.emit(worded_for_window(event))  # the window's words, not the CLI's flags
                if isinstance(event, Error) and event.kind == "engine_crashed":
                    self.restarted.emit(event.message)  # after the turn's own error: the banner explains it
        finally:
            if over is not None:
                over.emit()
            self.busy_changed.emit(False)
