"""The SQLite file behind the embedded log: connections, schema, transactions and header encoding.

Every producer, consumer and transport holds its own connection, so one object never waits on
another's transaction and several processes can share the file (WAL lets readers run beside the one
writer; the busy timeout makes writers queue instead of failing).
"""

from __future__ import annotations

import sqlite3
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from connectors.base import Headers
from exchange.errors import TransportError

SCHEMA_VERSION = 1

# Topics are referenced by a small integer id so that the per-message key stays short.
SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    partitions INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS partitions (
    topic_id INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic_id, partition)
) WITHOUT ROWID;
-- A rowid table, not WITHOUT ROWID: the latter keeps only ~490 bytes of a row in its page and spills
-- the rest to a page of its own, so 1 KB messages took 4.6 KB each and wrote 3x slower.
CREATE TABLE IF NOT EXISTS messages (
    topic_id INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    key BLOB,
    value BLOB,
    headers BLOB,
    timestamp_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_offset ON messages (topic_id, partition, offset);
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL,
    topic_id INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    committed_offset INTEGER NOT NULL,
    PRIMARY KEY (grp, topic_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_members (
    grp TEXT NOT NULL,
    member TEXT NOT NULL,
    client_id TEXT,
    topic_ids TEXT NOT NULL,
    session_timeout_ms INTEGER NOT NULL,
    last_heartbeat_ms INTEGER NOT NULL,
    PRIMARY KEY (grp, member)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partition_leases (
    grp TEXT NOT NULL,
    topic_id INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    member TEXT NOT NULL,
    PRIMARY KEY (grp, topic_id, partition)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class TopicRow:
    id: int
    name: str
    partitions: int


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@contextmanager
def sql_errors(what: str, error: type[TransportError] = TransportError) -> Iterator[None]:
    """Re-raise any sqlite3 error inside the block as ``error`` naming ``what`` failed."""
    try:
        yield
    except sqlite3.Error as exc:
        raise error(f"embedded bus: {what} failed: {exc}") from exc


@contextmanager
def transaction(
    conn: sqlite3.Connection, what: str, error: type[TransportError] = TransportError
) -> Iterator[sqlite3.Connection]:
    """Run the block in one ``BEGIN IMMEDIATE`` transaction: all of it is committed or none of it.

    IMMEDIATE takes the write lock up front, so two writers never both read ``next_offset`` and
    allocate the same offsets, and a waiting writer queues on the busy timeout instead of failing.
    """
    with sql_errors(what, error):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with NORMAL sync under WAL."""
    with sql_errors(f"opening {path}"):
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            # NORMAL under WAL survives a process crash; only an OS crash may lose the last commits.
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL and create the tables if missing; refuse a file from a newer version."""
    with sql_errors("creating the schema"):
        conn.execute("PRAGMA journal_mode=WAL")
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise TransportError(
            f"embedded bus: the file has schema version {version}; this build knows {SCHEMA_VERSION}"
        )
    if version == SCHEMA_VERSION:
        return
    with transaction(conn, "creating the schema"):
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def load_topics(conn: sqlite3.Connection) -> dict[str, TopicRow]:
    """Every topic in the file, by name."""
    with sql_errors("listing topics"):
        rows = conn.execute("SELECT id, name, partitions FROM topics ORDER BY name").fetchall()
    return {name: TopicRow(tid, name, partitions) for tid, name, partitions in rows}


# Headers are stored as repeated (name length, value length, name, value): compact and exact.
_HEADER = struct.Struct(">II")


def encode_headers(headers: Headers | None) -> bytes | None:
    """Pack ``headers`` into one blob (None when there are none)."""
    if not headers:
        return None
    parts: list[bytes] = []
    for name, value in headers:
        if not isinstance(name, str) or not isinstance(value, bytes | bytearray | memoryview):
            kinds = f"({type(name).__name__}, {type(value).__name__})"
            raise TypeError(f"a header must be (str, bytes), got {kinds}")
        raw = name.encode()
        parts += (_HEADER.pack(len(raw), len(value)), raw, bytes(value))
    return b"".join(parts)


def decode_headers(blob: bytes | None) -> Headers:
    """The headers packed by :func:`encode_headers`, in order."""
    headers: Headers = []
    if blob is None:
        return headers
    pos, size = 0, _HEADER.size
    while pos < len(blob):
        name_len, value_len = _HEADER.unpack_from(blob, pos)
        name_end = pos + size + name_len
        headers.append((blob[pos + size : name_end].decode(), blob[name_end : name_end + value_len]))
        pos = name_end + value_len
    return headers
