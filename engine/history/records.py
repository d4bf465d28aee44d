"""What the history holds, as plain records: conversations, turns, recordings, search hits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from engine.events import Step, event_from_dict

TURN_COLUMNS = (
    "id, conversation_id, position, question, answer, reasoning, steps, stats, interrupted, state, "
    "recording_id, error, created, updated, finished"
)
RECORDING_COLUMNS = "id, path, sha256, size, mtime, duration_s"


class TurnState(StrEnum):
    ASKED = "asked"
    ANSWERING = "answering"
    DONE = "done"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


@dataclass(frozen=True)
class RecordingRecord:
    id: int
    path: str
    sha256: str
    size: int
    mtime: float  # seconds since the epoch, as the file system reported when it was hashed
    duration_s: float | None


@dataclass(frozen=True)
class TurnRecord:
    id: int
    conversation_id: int
    position: int  # 1, 2, … within its conversation
    question: str
    answer: str
    reasoning: str
    steps: tuple[Step, ...]
    stats: dict[str, Any]
    interrupted: bool
    state: TurnState
    recording_id: int | None
    error: str | None
    created: datetime
    updated: datetime
    finished: datetime | None


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    title: str
    model: str | None
    created: datetime
    updated: datetime
    turn_count: int
    recording_path: str | None  # the first recording its turns carry


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    title: str
    model: str | None
    created: datetime
    updated: datetime
    turns: tuple[TurnRecord, ...] = ()
    recordings: tuple[RecordingRecord, ...] = ()  # in order of first use


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    title: str
    turn_id: int | None  # None when the title matched
    field: str  # "title", "question" or "answer"
    snippet: str


def when(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def step_dict(step: Step) -> dict[str, Any]:
    """A step as stored and exported: its fields without the event ``type``."""
    return {k: v for k, v in step.to_dict().items() if k != "type"}


def step_from_dict(data: dict[str, Any]) -> Step:
    step = event_from_dict({**data, "type": Step.type})
    assert isinstance(step, Step)
    return step


def turn_from_row(row: Sequence[Any]) -> TurnRecord:
    return TurnRecord(
        id=row[0],
        conversation_id=row[1],
        position=row[2],
        question=row[3],
        answer=row[4],
        reasoning=row[5],
        steps=tuple(step_from_dict(item) for item in json.loads(row[6])),
        stats=json.loads(row[7]),
        interrupted=bool(row[8]),
        state=TurnState(row[9]),
        recording_id=row[10],
        error=row[11],
        created=when(row[12]),
        updated=when(row[13]),
        finished=when(row[14]) if row[14] is not None else None,
    )


def recording_from_row(row: Sequence[Any]) -> RecordingRecord:
    return RecordingRecord(*row)
