"""Opening the history database file: its errors, connection settings and versioned migrations.

Migration N (1-based) takes a database from ``PRAGMA user_version`` N-1 to N. Each runs in its
own ``BEGIN IMMEDIATE`` transaction together with the version bump, so a crash mid-migration
leaves the previous version intact, and two processes opening a fresh file at once cannot both
apply it (the second re-reads the version once it holds the write lock).
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from engine.errors import HeronError

SQLITE_HEADER = b"SQLite format 3\x00"

# Primary SQLite result codes (the low byte of an extended code).
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
# SQLite says "disk I/O error" when a full disk stops it sizing its shared-memory (-shm) file; with
# less free space than this, that is the reason given.
LOW_SPACE_BYTES = 2**20


class HistoryError(HeronError):
    """The conversation history cannot be read or written."""

    kind = "history"


class HistoryNotFoundError(HistoryError):
    """A conversation, turn or recording id that is not in the history."""


class NewerSchemaError(HistoryError):
    """The database was written by a newer Heron than this one."""


class CorruptHistoryError(HistoryError):
    """The file is not a usable SQLite database; it is left untouched."""


def corrupt_error(path: Path, detail: str) -> CorruptHistoryError:
    return CorruptHistoryError(
        f"The history database {path} is damaged ({detail}). Heron left it untouched: move it aside "
        f"(for example rename it to {path.name}.broken) and start Heron again to begin a new history."
    )


def translate(exc: sqlite3.Error, path: Path) -> HistoryError:
    """Turn an sqlite3 error into one actionable line."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code in (_CORRUPT, _NOTADB):
        return corrupt_error(path, str(exc))
    if code in (_BUSY, _LOCKED):
        return HistoryError(
            f"The history database {path} is busy (another Heron is writing to it); try again in a moment."
        )
    if code == _FULL or (code in (_IOERR, _CANTOPEN) and _space_left(path) < LOW_SPACE_BYTES):
        return HistoryError(f"The disk holding {path} is full; free some space and try again.")
    if code in (_READONLY, _CANTOPEN, _IOERR):
        return HistoryError(
            f"Cannot write the history database {path} ({exc}); check that its folder exists and is writable."
        )
    return HistoryError(f"History database {path}: {exc}.")


def _space_left(path: Path) -> float:
    """Bytes free on the file system holding ``path`` (infinite when that cannot be told)."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return float("inf")


@contextmanager
def translating(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc


# ---- migrations ---------------------------------------------------------------------------------

Migration = Callable[[sqlite3.Connection], None]


def _v1_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            model TEXT,
            created REAL NOT NULL,
            updated REAL NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE recordings (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime REAL NOT NULL,
            duration_s REAL
        )"""
    )
    # owner_* name the process that began a turn, so that opening the database never marks a
    # turn that another live Heron is still answering as interrupted.
    conn.execute(
        """CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            recording_id INTEGER REFERENCES recordings(id) ON DELETE SET NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL DEFAULT '',
            reasoning TEXT NOT NULL DEFAULT '',
            steps TEXT NOT NULL DEFAULT '[]',
            stats TEXT NOT NULL DEFAULT '{}',
            interrupted INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL DEFAULT 'asked'
                CHECK (state IN ('asked', 'answering', 'done', 'interrupted', 'failed')),
            error TEXT,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            finished REAL,
            owner_host TEXT,
            owner_pid INTEGER,
            owner_token TEXT,
            UNIQUE (conversation_id, position)
        )"""
    )


def _v2_indexes(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE INDEX conversations_by_updated ON conversations(updated DESC, id DESC)")
    conn.execute("CREATE INDEX turns_by_recording ON turns(recording_id)")
    # Small partial index: the recovery scan on every open reads only unfinished turns.
    conn.execute("CREATE INDEX turns_open ON turns(state) WHERE state IN ('asked', 'answering')")


def _v3_turn_paths(conn: sqlite3.Connection) -> None:
    """Each turn keeps the path its recording had when asked: recordings with the same bytes share
    one row (for caches), but each conversation shows and reopens its own file."""
    conn.execute("ALTER TABLE turns ADD COLUMN recording_path TEXT")
    conn.execute(
        "UPDATE turns SET recording_path = (SELECT path FROM recordings WHERE id = turns.recording_id) "
        "WHERE recording_id IS NOT NULL"
    )


MIGRATIONS: tuple[Migration, ...] = (_v1_tables, _v2_indexes, _v3_turn_paths)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the missing migrations in order; return the final version. Safe to call again."""
    while (version := user_version(conn)) < len(migrations):
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(conn)  # another process may have migrated while we waited
            if version < len(migrations):
                migrations[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return version


# ---- opening --------------------------------------------------------------------------------------


def _check_header(path: Path) -> None:
    """Refuse a non-SQLite file before SQLite touches it (so nothing is written to it)."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise HistoryError(f"Cannot read the history database {path} ({exc.strerror}).") from exc
    if head and head != SQLITE_HEADER:
        raise corrupt_error(path, "not an SQLite database")


def _check_version(conn: sqlite3.Connection, path: Path, known: int) -> None:
    found = user_version(conn)
    if found > known:
        raise NewerSchemaError(
            f"The history database {path} was made by a newer Heron (schema version {found}; this Heron "
            f"knows up to {known}); update Heron to open it."
        )


def _configure(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    # WAL: readers never block the writer, so the GUI and the CLI can share the file, and a
    # commit is one append to the -wal file, which a killed process cannot take back.
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: each commit also fsyncs the WAL, so asked questions and finished answers survive a
    # power cut too; the store drops to NORMAL for the frequent partial checkpoints only.
    conn.execute("PRAGMA synchronous = FULL")
    if sys.platform == "darwin":
        conn.execute("PRAGMA fullfsync = ON")  # macOS fsync does not flush the drive's cache


def open_database(
    path: Path,
    busy_timeout_s: float = 5.0,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    read_only: bool = False,
) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at ``path``; raise HistoryError if unusable.

    ``read_only``: a connection that never writes, so that reading works on a full disk; a file that
    is missing or older than this Heron is opened as usual (creating or migrating it is a write).
    """
    _check_header(path)
    if read_only and path.exists() and (conn := _open_read_only(path, busy_timeout_s, len(migrations))):
        return conn
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(
            f"Cannot create the folder {path.parent} for the history ({exc.strerror})."
        ) from exc
    with translating(path):
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    try:
        with translating(path):
            _check_version(conn, path, len(migrations))  # before any write to a newer file
            _configure(conn, busy_timeout_s)
            migrate(conn, migrations)
    except BaseException:
        conn.close()
        raise
    return conn


def _open_read_only(path: Path, busy_timeout_s: float, known: int) -> sqlite3.Connection | None:
    """A connection that cannot write to ``path``, or None when the file needs migrating."""
    try:
        return _read_only_connection(path, "mode=ro", busy_timeout_s, known)
    except sqlite3.Error:
        # A reader of a WAL file needs its -shm index. On a full disk SQLite can create that file
        # but not size it; readonly_shm maps the one left by the first try read-only instead.
        with translating(path):
            return _read_only_connection(path, "mode=ro&readonly_shm=1", busy_timeout_s, known)


def _read_only_connection(
    path: Path, options: str, busy_timeout_s: float, known: int
) -> sqlite3.Connection | None:
    uri = f"{path.resolve().as_uri()}?{options}"
    conn = sqlite3.connect(
        uri, uri=True, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        _check_version(conn, path, known)
        current = user_version(conn) == known
    except BaseException:
        conn.close()
        raise
    if not current:
        conn.close()
        return None
    return conn
