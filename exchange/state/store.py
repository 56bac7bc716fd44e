"""Opens the state store and keeps the small bookkeeping tables (offsets, checkpoints, processed files)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from exchange.clock import now_ms
from exchange.errors import ConfigError, TransportError
from exchange.state import memberships, notices, users  # noqa: F401  (their tables join the metadata)
from exchange.state.bulk import bulk_upsert
from exchange.state.tables import checkpoints, consumer_offsets, metadata, processed_files


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web server read while the mediator writes; the busy timeout lets processes share a file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class StateStore:
    """The mediator's SQL database, selected by a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"EXCHANGE_STATE_URL is not a database URL: {url!r}") from exc
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(parsed, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def create_schema(self) -> None:
        """Create missing tables (idempotent)."""
        try:
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise TransportError(f"state store {self.engine.url!r} is unreachable: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One database transaction: committed on success, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        self.engine.dispose()

    # -- consumer offsets, written in the same transaction as the state they account for

    def load_offsets(self, group: str) -> dict[tuple[str, int], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(consumer_offsets.c.topic, consumer_offsets.c.partition, consumer_offsets.c.next_offset)
                .where(consumer_offsets.c.group_id == group)
            )
            return {(r.topic, r.partition): r.next_offset for r in rows}

    def save_offsets(self, conn: Connection, group: str, offsets: dict[tuple[str, int], int]) -> None:
        for (topic, partition), next_offset in offsets.items():
            upsert(conn, consumer_offsets,
                   {"group_id": group, "topic": topic, "partition": partition},
                   {"next_offset": next_offset})

    # -- adapter bookkeeping

    def checkpoint(self, name: str) -> Any:
        """The progress value saved under ``name`` (a source watermark, a mediator mark), or None."""
        with self.engine.connect() as conn:
            return conn.execute(select(checkpoints.c.value).where(checkpoints.c.name == name)).scalar_one_or_none()

    def save_checkpoint(self, name: str, value: Any) -> None:
        with self.transaction() as conn:
            upsert(conn, checkpoints, {"name": name}, {"value": value, "updated_at": now_ms()})

    def progress(self) -> list[dict[str, Any]]:
        """Every source's progress: checkpoints (watermarks) and the newest processed file of each source."""
        with self.engine.connect() as conn:
            marks = [{"source_id": r.name, "watermark": r.value, "updated_at": r.updated_at}
                     for r in conn.execute(select(checkpoints)) if not r.name.startswith("mediator:")]
            files = conn.execute(
                select(processed_files.c.source_id, func.count(), func.max(processed_files.c.processed_at))
                .group_by(processed_files.c.source_id)
            ).all()
            for source_id, count, newest in files:
                last = conn.execute(select(processed_files.c.filename).where(
                    processed_files.c.source_id == source_id, processed_files.c.processed_at == newest)).scalar()
                marks.append({"source_id": source_id, "files": count, "last_file": last, "updated_at": newest})
        return marks

    def file_processed(self, source_id: str, sha256: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(
                select(processed_files.c.sha256).where(
                    processed_files.c.source_id == source_id, processed_files.c.sha256 == sha256
                )
            ).first() is not None

    def mark_file_processed(self, source_id: str, sha256: str, filename: str, rows: int, rejected: int) -> None:
        with self.transaction() as conn:
            upsert(conn, processed_files, {"source_id": source_id, "sha256": sha256},
                   {"filename": filename, "rows": rows, "rejected": rejected, "processed_at": now_ms()})


def upsert(conn: Connection, table: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert ``key | values`` or update ``values`` where ``key`` exists."""
    bulk_upsert(conn, table, [key | values], list(key))
