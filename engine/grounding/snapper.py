"""The steps of the open recording snapped to their events, each anchor once, from any thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from engine.errors import HeronError
from engine.events import Step
from engine.grounding.snap import Grounder
from engine.grounding.source import AudioSource
from engine.grounding.speech import warm_up
from engine.grounding.steps import ground_step, unsnapped

log = logging.getLogger(__name__)

PREPARE_UP_TO_S = 20 * 60  # recordings this short are analysed ahead, in the background
PREPARE_STEP_S = 8.0  # … a stretch at a time, so that a snap waits at most for one (~20 ms)


class StepSnapper:
    """Snaps the steps of one recording, each anchor once; with snapping off, unsnaps them.

    Grounding only helps: should the audio not be readable, a step is passed on as it came.
    The window's thread and the voice loop's may both ask.
    """

    def __init__(self, source: AudioSource | None = None, enabled: bool = True):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._generation = 0  # counts recordings: a preparation for an earlier one stops
        self.use(source)

    def use(self, source: AudioSource | None, prepare: bool = False) -> threading.Thread | None:
        """Snap against another recording (None: none is open; steps pass as they are).

        ``prepare``: analyse a short recording ahead in a background thread, so that a step
        streaming in is snapped in a millisecond or two rather than twenty (the window's case;
        the command line reads its file only around the steps). Returns that thread, if any.
        """
        with self._lock:
            self._grounder = Grounder(source) if source is not None else None
            self._done: dict[tuple, Step] = {}
            self._generation += 1
        if source is None or not self.enabled:
            return None
        warm_up()
        if not prepare or source.duration_s > PREPARE_UP_TO_S:
            return None
        args = (self._grounder, self._generation)
        thread = threading.Thread(target=self._prepare, args=args, name="heron-grounding", daemon=True)
        thread.start()
        return thread

    def ground(self, step: Step) -> Step:
        if step.start_s is None:
            return step
        if not self.enabled:
            return unsnapped(step)
        key = (step.start_s, step.end_s, step.text)
        with self._lock:
            if self._grounder is None:
                return step
            if key not in self._done:
                try:
                    self._done[key] = ground_step(step, self._grounder)
                except (HeronError, OSError, ValueError, RuntimeError) as exc:
                    log.warning("Could not snap step %d at %.1f s: %s", step.index, step.start_s, exc)
                    return step
            found = self._done[key]
        return replace(step, snapped_start_s=found.snapped_start_s, snapped_end_s=found.snapped_end_s,
                       confidence=found.confidence)  # fmt: skip

    def _prepare(self, grounder: Grounder, generation: int) -> None:
        start = 0.0
        while start < grounder.duration_s:
            with self._lock:
                if generation != self._generation:
                    return
                try:
                    grounder.prepare(start, start + PREPARE_STEP_S)
                except (HeronError, OSError, ValueError, RuntimeError):
                    return  # a snap will say why, if it fails too
            start += PREPARE_STEP_S
