"""Conversation history: a SQLite store that survives a kill, and its exports."""

from engine.history.records import (
    ConversationRecord,
    ConversationSummary,
    RecordingRecord,
    SearchHit,
    TurnRecord,
    TurnState,
)
from engine.history.schema import (
    SCHEMA_VERSION,
    CorruptHistoryError,
    HistoryError,
    HistoryNotFoundError,
    NewerSchemaError,
)
from engine.history.store import HistoryStore

__all__ = [
    "SCHEMA_VERSION",
    "ConversationRecord",
    "ConversationSummary",
    "CorruptHistoryError",
    "HistoryError",
    "HistoryNotFoundError",
    "HistoryStore",
    "NewerSchemaError",
    "RecordingRecord",
    "SearchHit",
    "TurnRecord",
    "TurnState",
]
