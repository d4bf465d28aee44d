"""A history on a full disk: the message names the full disk, and the history can still be read.

The disk is a real one: a 1 MB tmpfs, filled to the last byte, so SQLite meets ENOSPC where it
would on a full drive (sizing its -shm file). Mounting needs root (CAP_SYS_ADMIN); elsewhere
these tests are skipped.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from engine.history import HistoryStore
from engine.history.schema import HistoryError, open_database
from tests.cli import heron


@pytest.fixture
def disk(tmp_path: Path):
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.decode().strip()})")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def history_with_one_conversation(path: Path) -> str:
    with HistoryStore(path) as store:
        store.create_conversation("The bell")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_full_disk_is_named_as_such(disk: Path):
    db = disk / "history.sqlite3"
    history_with_one_conversation(db)
    fill(disk)
    with pytest.raises(HistoryError) as caught:
        HistoryStore(db)
    assert caught.value.message == f"The disk holding {db} is full; free some space and try again."


def test_a_read_only_opening_reads_a_history_on_a_full_disk_and_writes_nothing(disk: Path):
    db = disk / "history.sqlite3"
    digest = history_with_one_conversation(db)
    fill(disk)
    conn = open_database(db, read_only=True)
    try:
        assert conn.execute("SELECT title FROM conversations").fetchall() == [("The bell",)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("UPDATE conversations SET title = 'x'")
    finally:
        conn.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_a_read_only_opening_sees_what_a_live_writer_committed(tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    with HistoryStore(db) as writer:
        writer.create_conversation("First")
        reader = open_database(db, read_only=True)
        writer.create_conversation("Second")  # in the -wal file, not yet in the database file
        try:
            titles = [row[0] for row in reader.execute("SELECT title FROM conversations ORDER BY id")]
        finally:
            reader.close()
    assert titles == ["First", "Second"]


def test_a_missing_history_is_created_by_a_read_only_opening(tmp_path: Path):
    db = tmp_path / "new" / "history.sqlite3"
    open_database(db, read_only=True).close()
    with HistoryStore(db) as store:
        assert store.list_conversations(10) == []


def test_the_cli_names_the_full_disk(disk: Path):
    home = disk / "home"
    db = home / "data" / "history.sqlite3"
    db.parent.mkdir(parents=True)
    history_with_one_conversation(db)
    fill(disk)
    result = heron("history", "delete", "1", env={"HERON_HOME": str(home)})
    assert result.status == 2
    assert result.stderr_lines == [f"heron: The disk holding {db} is full; free some space and try again."]


def test_list_show_and_export_read_a_history_on_a_full_disk(disk: Path):
    home = disk / "home"
    db = home / "data" / "history.sqlite3"
    db.parent.mkdir(parents=True)
    digest = history_with_one_conversation(db)
    fill(disk)
    env = {"HERON_HOME": str(home)}
    listing = heron("history", "list", env=env)
    assert listing.status == 0, listing.stderr
    assert "The bell" in listing.stdout
    for args in (("show", "1"), ("export", "1", "--format", "json")):
        result = heron("history", *args, env=env)
        assert result.status == 0 and "The bell" in result.stdout, result.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
