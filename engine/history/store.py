"""The conversation history: conversations, their turns and the recordings they are about.

Durability contract (a ``kill -9`` at any moment loses nothing finished): ``begin_turn`` commits
the question before the model starts, ``save_partial`` checkpoints the streamed text, and
``finish_turn``/``fail_turn`` commit the outcome. Opening the store marks turns left unfinished
by a process that is gone as ``interrupted``, keeping their partial text.

A store is safe to use from several threads (one lock around its connection); several processes
may open the same file at once (WAL, busy timeout, write transactions taken up front).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.events import Step
from engine.history.owners import HOST, TOKEN, owner_alive
from engine.history.records import (
    RECORDING_COLUMNS,
    TURN_COLUMNS,
    ConversationRecord,
    ConversationSummary,
    RecordingRecord,
    SearchHit,
    TurnRecord,
    TurnState,
    recording_from_row,
    step_dict,
    turn_from_row,
    when,
)
from engine.history.schema import (
    HistoryError,
    HistoryNotFoundError,
    corrupt_error,
    open_database,
    translating,
)

HASH_BLOCK = 1 << 20
QUICK_CHECK_MAX_BYTES = 256 * 2**20  # a bigger history opens without the page check


# ---- small helpers --------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    """Stats may hold numpy scalars or arrays; anything else odd is kept as text, never dropped."""
    for name in ("tolist", "item"):  # numpy arrays and scalars both have tolist()
        if hasattr(value, name):
            return getattr(value, name)()
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _fold(text: str | None) -> str:
    return (text or "").casefold()


def _snippet(text: str, needle: str, width: int = 60) -> str:
    at = max(_fold(text).find(needle), 0)
    start, end = max(at - width, 0), min(at + len(needle) + width, len(text))
    core = " ".join(text[start:end].split())
    return ("…" if start else "") + core + ("…" if end < len(text) else "")


def hash_file(path: Path) -> str:
    """sha256 of the file, read in blocks so hours of audio never sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# ---- the store ------------------------------------------------------------------------------------

# A conversation's recordings, in the order its turns first use them.
# The path is the conversation's own (its first turn's), not the shared row's latest.
_RECORDINGS_OF = (
    "SELECT r.id, COALESCE((SELECT t2.recording_path FROM turns t2 WHERE t2.conversation_id = :c "
    "AND t2.recording_id = r.id ORDER BY t2.position LIMIT 1), r.path), r.sha256, r.size, r.mtime, "
    "r.duration_s FROM recordings r JOIN turns t ON t.recording_id = r.id WHERE t.conversation_id = :c "
    "GROUP BY r.id ORDER BY MIN(t.position)"
)


class HistoryStore:
    """Conversation history in one SQLite file at ``path`` (the caller chooses where)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 5.0, read_only: bool = False):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = open_database(self.path, busy_timeout_s, read_only=read_only)
        self._conn.create_function("heron_fold", 1, _fold, deterministic=True)
        try:
            self._check_integrity()  # before this process's first write: a damaged file is never written
            # Turns a dead process left unfinished, now marked interrupted (the app may say so).
            self.recovered_turns: tuple[int, ...] = () if read_only else self._recover()
        except BaseException:
            self.close()
            raise

    # -- lifetime --

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError(f"The history database {self.path} is closed.")
        return self._conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for a multi-query read."""
        with self._lock, translating(self.path):
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    @contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``durable=False`` skips the fsync (a later durable commit covers it)."""
        with self._lock, translating(self.path):
            conn = self._connection()
            if not durable:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                # IMMEDIATE takes the write lock now, so the busy timeout applies here and a
                # read-then-write can never deadlock against another process.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")

    def _check_integrity(self) -> None:
        """SQLite's quick check of every page (about 0.1 s for 50 MB), skipped for a huge file."""
        if self.path.stat().st_size > QUICK_CHECK_MAX_BYTES:
            return
        with self._read() as conn:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)").fetchall()]
        if problems != ["ok"]:
            raise corrupt_error(self.path, "; ".join(problems)[:200])

    def _recover(self) -> tuple[int, ...]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, owner_host, owner_pid, owner_token FROM turns "
                "WHERE state IN ('asked', 'answering')"
            ).fetchall()
        dead = [row[0] for row in rows if not owner_alive(row[1], row[2], row[3])]
        if not dead:
            return ()
        with self._write() as conn:
            conn.executemany(
                "UPDATE turns SET state = 'interrupted', interrupted = 1 "
                "WHERE id = ? AND state IN ('asked', 'answering')",
                [(turn_id,) for turn_id in dead],
            )
        return tuple(dead)

    # -- conversations --

    def create_conversation(self, title: str, model: str | None = None) -> int:
        now = time.time()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO conversations (title, model, created, updated) VALUES (?, ?, ?, ?)",
                (title, model, now, now),
            )
            return int(cursor.lastrowid or 0)

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        with self._write() as conn:
            cursor = conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))
            if cursor.rowcount == 0:
                raise self._missing("conversation", conversation_id)

    def delete_conversation(self, conversation_id: int) -> None:
        """Delete it with its turns, and the recording rows no other conversation uses (not the files)."""
        with self._write() as conn:
            used = [r[0] for r in conn.execute(_RECORDINGS_OF, {"c": conversation_id})]
            cursor = conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            if cursor.rowcount == 0:
                raise self._missing("conversation", conversation_id)
            conn.executemany(
                "DELETE FROM recordings WHERE id = ? AND NOT EXISTS "
                "(SELECT 1 FROM turns WHERE recording_id = recordings.id)",
                [(rid,) for rid in used],
            )

    def list_conversations(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        """Most recently active first."""
        with self._read() as conn:
            rows = conn.execute(
                """SELECT c.id, c.title, c.model, c.created, c.updated,
                       (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id),
                       (SELECT COALESCE(t.recording_path, r.path) FROM turns t JOIN recordings r
                        ON r.id = t.recording_id WHERE t.conversation_id = c.id ORDER BY t.position LIMIT 1)
                   FROM conversations c ORDER BY c.updated DESC, c.id DESC LIMIT ? OFFSET ?""",
                (limit, offset),
            ).fetchall()
        return [ConversationSummary(r[0], r[1], r[2], when(r[3]), when(r[4]), r[5], r[6]) for r in rows]

    def get_conversation(self, conversation_id: int) -> ConversationRecord:
        with self._read() as conn:
            head = conn.execute(
                "SELECT id, title, model, created, updated FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if head is None:
                raise self._missing("conversation", conversation_id)
            turns = conn.execute(
                f"SELECT {TURN_COLUMNS} FROM turns WHERE conversation_id = ? ORDER BY position",
                (conversation_id,),
            ).fetchall()
            recordings = conn.execute(_RECORDINGS_OF, {"c": conversation_id}).fetchall()
        return ConversationRecord(
            id=head[0],
            title=head[1],
            model=head[2],
            created=when(head[3]),
            updated=when(head[4]),
            turns=tuple(turn_from_row(row) for row in turns),
            recordings=tuple(recording_from_row(row) for row in recordings),
        )

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Case-insensitive substring search over titles, questions and answers, newest first."""
        needle = _fold(text.strip())
        if not needle:
            return []
        with self._read() as conn:
            rows = conn.execute(
                """SELECT c.id, c.title, NULL, 'title', c.title, c.updated, 0 FROM conversations c
                       WHERE instr(heron_fold(c.title), :q) > 0
                   UNION ALL
                   SELECT c.id, c.title, t.id, 'question', t.question, c.updated, t.position
                       FROM turns t JOIN conversations c ON c.id = t.conversation_id
                       WHERE instr(heron_fold(t.question), :q) > 0
                   UNION ALL
                   SELECT c.id, c.title, t.id, 'answer', t.answer, c.updated, t.position
                       FROM turns t JOIN conversations c ON c.id = t.conversation_id
                       WHERE instr(heron_fold(t.answer), :q) > 0
                   ORDER BY 6 DESC, 1 DESC, 7, 4 DESC LIMIT :limit""",
                {"q": needle, "limit": limit},
            ).fetchall()
        return [SearchHit(r[0], r[1], r[2], r[3], _snippet(r[4], needle)) for r in rows]

    # -- recordings --

    def add_recording(self, path: str | os.PathLike[str], duration_s: float | None) -> int:
        """Register a recording by content: the same bytes (same sha256) give the same row."""
        file = Path(path).resolve()
        try:
            info = file.stat()
        except OSError as exc:
            raise HistoryError(f"Cannot read the recording {file} ({exc.strerror}).") from exc
        known = self._recording_by_identity(str(file), info.st_size, info.st_mtime)
        if known is not None:
            return known  # unchanged since it was hashed: skip reading hours of audio again
        try:
            digest = hash_file(file)  # outside the lock and the transaction: it can take seconds
        except OSError as exc:
            raise HistoryError(f"Cannot read the recording {file} ({exc.strerror}).") from exc
        with self._write() as conn:
            conn.execute(
                """INSERT INTO recordings (path, sha256, size, mtime, duration_s) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (sha256) DO UPDATE SET path = excluded.path, size = excluded.size,
                       mtime = excluded.mtime, duration_s = COALESCE(excluded.duration_s, duration_s)""",
                (str(file), digest, info.st_size, info.st_mtime, duration_s),
            )
            row = conn.execute("SELECT id FROM recordings WHERE sha256 = ?", (digest,)).fetchone()
        return int(row[0])

    def _recording_by_identity(self, path: str, size: int, mtime: float) -> int | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT id FROM recordings WHERE path = ? AND size = ? AND mtime = ?", (path, size, mtime)
            ).fetchone()
        return None if row is None else int(row[0])

    def get_recording(self, recording_id: int) -> RecordingRecord:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {RECORDING_COLUMNS} FROM recordings WHERE id = ?", (recording_id,)
            ).fetchone()
        if row is None:
            raise self._missing("recording", recording_id)
        return recording_from_row(row)

    # -- turns --

    def begin_conversation(
        self, title: str, model: str | None, question: str, recording_id: int | None = None
    ) -> tuple[int, int]:
        """A new conversation and its first question, in one transaction: (conversation, turn)."""
        with self._write() as conn:
            now = time.time()
            cursor = conn.execute(
                "INSERT INTO conversations (title, model, created, updated) VALUES (?, ?, ?, ?)",
                (title, model, now, now),
            )
            conversation_id = int(cursor.lastrowid or 0)
            return conversation_id, self._insert_turn(conn, conversation_id, question, recording_id)

    def begin_turn(self, conversation_id: int, question: str, recording_id: int | None = None) -> int:
        """Commit the question (state ``asked``) before the model starts on it."""
        with self._write() as conn:
            if (
                conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
                is None
            ):
                raise self._missing("conversation", conversation_id)
            return self._insert_turn(conn, conversation_id, question, recording_id)

    def _insert_turn(
        self, conn: sqlite3.Connection, conversation_id: int, question: str, recording_id: int | None
    ) -> int:
        if recording_id is not None and (
            conn.execute("SELECT 1 FROM recordings WHERE id = ?", (recording_id,)).fetchone() is None
        ):
            raise self._missing("recording", recording_id)
        now = time.time()
        cursor = conn.execute(
            """INSERT INTO turns (conversation_id, position, recording_id, recording_path, question, state,
                                      created, updated, owner_host, owner_pid, owner_token)
                   VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM turns WHERE conversation_id = ?),
                           ?, (SELECT path FROM recordings WHERE id = ?), ?, 'asked', ?, ?, ?, ?, ?)""",
            (
                conversation_id,
                conversation_id,
                recording_id,
                recording_id,
                question,
                now,
                now,
                HOST,
                os.getpid(),
                TOKEN,
            ),
        )
        self._touch(conn, conversation_id, now)
        return int(cursor.lastrowid or 0)

    def save_partial(self, turn_id: int, answer: str, reasoning: str) -> None:
        """Checkpoint the text streamed so far. Cheap (no fsync); ignored once the turn has ended."""
        with self._write(durable=False) as conn:
            cursor = conn.execute(
                "UPDATE turns SET answer = ?, reasoning = ?, state = 'answering', updated = ? "
                "WHERE id = ? AND state IN ('asked', 'answering')",
                (answer, reasoning, time.time(), turn_id),
            )
            if cursor.rowcount == 0:
                self._turn_conversation(conn, turn_id)  # raises if the turn does not exist

    def finish_turn(
        self,
        turn_id: int,
        answer: str,
        reasoning: str,
        steps: Sequence[Step],
        stats: dict[str, Any],
        interrupted: bool = False,
    ) -> None:
        """Commit the outcome: ``done``, or ``interrupted`` when the user cut the answer short."""
        state = TurnState.INTERRUPTED if interrupted else TurnState.DONE
        steps_json = _dumps([step_dict(s) for s in steps])
        self._end_turn(
            turn_id,
            "answer = ?, reasoning = ?, steps = ?, stats = ?, interrupted = ?, state = ?, error = NULL",
            (answer, reasoning, steps_json, _dumps(stats), int(interrupted), state.value),
        )

    def fail_turn(
        self, turn_id: int, message: str, answer: str | None = None, reasoning: str | None = None
    ) -> None:
        """The answer failed: keep its partial text (what the caller received, when given; else
        the last checkpoint) with the error's message."""
        self._end_turn(
            turn_id,
            "state = 'failed', error = ?, answer = COALESCE(?, answer), reasoning = COALESCE(?, reasoning)",
            (message, answer, reasoning),
        )

    def _end_turn(self, turn_id: int, assignments: str, values: tuple[Any, ...]) -> None:
        now = time.time()
        with self._write() as conn:
            conversation_id = self._turn_conversation(conn, turn_id)
            conn.execute(
                f"UPDATE turns SET {assignments}, updated = ?, finished = ? WHERE id = ?",
                (*values, now, now, turn_id),
            )
            self._touch(conn, conversation_id, now)

    def get_turn(self, turn_id: int) -> TurnRecord:
        with self._read() as conn:
            row = conn.execute(f"SELECT {TURN_COLUMNS} FROM turns WHERE id = ?", (turn_id,)).fetchone()
        if row is None:
            raise self._missing("turn", turn_id)
        return turn_from_row(row)

    # -- internals --

    def _turn_conversation(self, conn: sqlite3.Connection, turn_id: int) -> int:
        row = conn.execute("SELECT conversation_id FROM turns WHERE id = ?", (turn_id,)).fetchone()
        if row is None:
            raise self._missing("turn", turn_id)
        return int(row[0])

    @staticmethod
    def _touch(conn: sqlite3.Connection, conversation_id: int, now: float) -> None:
        conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))

    def _missing(self, what: str, item_id: int) -> HistoryNotFoundError:
        return HistoryNotFoundError(f"There is no {what} {item_id} in the history {self.path}.")
