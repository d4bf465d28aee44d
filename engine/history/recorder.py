"""Write one turn into the history as its events stream in.

The question is already committed (``HistoryStore.begin_turn``); the recorder checkpoints the
partial answer now and then, and commits the whole turn at ``Done`` (or its failure at
``Error``), so a killed process loses neither the question nor a finished answer.
"""

from __future__ import annotations

import time

from engine.events import Done, Error, Event, Finish, Step, TextDelta, ThinkDelta
from engine.history.store import HistoryStore

CHECKPOINT_EVERY_S = 0.5
TITLE_CHARS = 60


def conversation_title(question: str) -> str:
    """A new conversation is named after its first question, shortened."""
    words = " ".join(question.split())
    return words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 3].rstrip() + "…"


class TurnRecorder:
    """The answer's events gathered, and written to ``store`` (None: gathered only)."""

    def __init__(self, store: HistoryStore | None, turn_id: int | None):
        self.store = store
        self.turn_id = turn_id
        self.answer: list[str] = []
        self.reasoning: list[str] = []
        self.steps: list[Step] = []
        self._saved_at = time.monotonic()

    @property
    def answer_text(self) -> str:
        return "".join(self.answer)

    def on_event(self, event: Event) -> None:
        self._gather(event)
        if self.store is not None:
            self._write(event)

    def _gather(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.answer.append(event.text)
        elif isinstance(event, ThinkDelta):
            self.reasoning.append(event.text)
        elif isinstance(event, Step):
            self.steps.append(event)

    def _write(self, event: Event) -> None:
        if isinstance(event, Done):
            self._finish(event.stats)
        elif isinstance(event, Error):
            self.store.fail_turn(self.turn_id, event.message, self.answer_text, "".join(self.reasoning))
        elif time.monotonic() - self._saved_at >= CHECKPOINT_EVERY_S:
            self.store.save_partial(self.turn_id, self.answer_text, "".join(self.reasoning))
            self._saved_at = time.monotonic()

    def _finish(self, stats: dict) -> None:
        reasoning = "".join(self.reasoning)
        interrupted = stats.get("finish") in (Finish.CANCELLED, Finish.INTERRUPTED)  # Stop, or barge-in
        self.store.finish_turn(self.turn_id, self.answer_text, reasoning, self.steps, stats, interrupted)
