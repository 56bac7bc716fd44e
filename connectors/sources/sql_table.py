"""Incremental reads from a SQL table by (timestamp column, unique increasing column).

The watermark is the last delivered ``(timestamp, id)`` pair; reading resumes strictly after it, so
rows sharing a timestamp are neither missed nor read twice across polls. A row committed late, with a
timestamp at or before the watermark, would be missed by that rule alone: every poll therefore also
looks ``grace_seconds`` back, and the checkpoint remembers which rows of that window were already
delivered, so a late row is picked up once and an early one is never repeated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, MetaData, Table, and_, create_engine, func, or_, select
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from connectors.sources.base import CheckpointStore, Source, SourceBatch, SourceRow
from exchange.errors import SourceError

Mark = dict[str, Any]  # {"ts": ..., "id": ..., "recent": [[ts, id], ...]} or, during a bulk load, {"bulk_id": id}


class SqlTableSource(Source):
    """Rows of ``table`` not yet delivered, oldest first (see the module docstring)."""

    def __init__(
        self,
        url: str,
        table: str,
        *,
        timestamp_column: str,
        id_column: str,
        grace_seconds: float = 0,
        bulk: bool = False,
        deleted_column: str | None = None,
    ) -> None:
        """``grace_seconds``: how late a commit may be and still be read; ``bulk``: make the first load
        page through the table by ``id_column`` alone (cheap on a large table), then go incremental;
        ``deleted_column``: a soft-delete flag (1/Y/true marks a withdrawn row), used when the table
        has it — the row's next change (setting the flag) is read like any other."""
        self.url = url
        self.table_name = table
        self.timestamp_column = timestamp_column
        self.id_column = id_column
        self.grace = timedelta(seconds=grace_seconds)
        self.bulk = bulk
        self.deleted_column = deleted_column
        self.source_id = f"sql:{url}#{table}"
        try:
            self._engine = create_engine(url)
        except Exception as exc:  # ArgumentError, missing driver: all mean a bad source URL
            raise SourceError(f"cannot open source database {url!r}: {exc}") from exc

    def _table(self) -> Table:
        try:
            return Table(self.table_name, MetaData(), autoload_with=self._engine)
        except NoSuchTableError as exc:
            raise SourceError(f"source table {self.table_name!r} not found in {self.url}") from exc
        except SQLAlchemyError as exc:
            raise SourceError(f"cannot read source database {self.url}: {exc}") from exc

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        try:
            with self._engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise SourceError(f"cannot read {self.table_name} from {self.url}: {exc}") from exc

    def _batch(self, rows: list[dict[str, Any]], mark: Mark, checkpoints: CheckpointStore) -> SourceBatch:
        flag = self.deleted_column
        return SourceBatch(
            [SourceRow(f"{self.url}#{self.table_name}:{self.id_column}={r[self.id_column]}", r,
                       deleted=flag is not None and _is_set(r.get(flag)))
             for r in rows],
            lambda _rejected: checkpoints.save_checkpoint(self.source_id, mark),
        )

    def batches(self, checkpoints: CheckpointStore, batch_size: int = 1000) -> Iterator[SourceBatch]:
        table = self._table()
        ts_col, id_col = table.c[self.timestamp_column], table.c[self.id_column]
        mark: Mark | None = checkpoints.checkpoint(self.source_id)
        if self.bulk and (mark is None or "bulk_id" in mark):
            mark = yield from self._bulk(table, ts_col, id_col, mark, checkpoints, batch_size)
        while True:
            late = self._late_rows(ts_col, id_col, table, mark) if mark is not None else []
            query = select(table).order_by(ts_col, id_col).limit(max(batch_size - len(late), 1))
            if mark is not None:
                ts = _restore(mark["ts"], ts_col)
                query = query.where(or_(ts_col > ts, and_(ts_col == ts, id_col > mark["id"])))
            forward = self._rows(query)
            rows = late + forward
            if not rows:
                return
            mark = self._advance(mark, late, forward)
            yield self._batch(rows, mark, checkpoints)
            if len(rows) < batch_size:
                return

    def _late_rows(self, ts_col: Column[Any], id_col: Column[Any], table: Table, mark: Mark) -> list[dict[str, Any]]:
        """Rows in the grace window before the watermark that were not delivered (committed late)."""
        start = _shift(mark["ts"], -self.grace) if self.grace else None
        if start is None:
            return []
        ts = _restore(mark["ts"], ts_col)
        window = self._rows(
            select(table)
            .where(ts_col >= _restore(start, ts_col), or_(ts_col < ts, and_(ts_col == ts, id_col <= mark["id"])))
            .order_by(ts_col, id_col)
        )
        seen = {(str(t), i) for t, i in mark.get("recent", [])}
        return [r for r in window if (str(_store(r[self.timestamp_column])), r[self.id_column]) not in seen]

    def _advance(self, mark: Mark | None, late: list[dict[str, Any]], forward: list[dict[str, Any]]) -> Mark:
        """The watermark after delivering these rows: the newest pair (the last forward row, as the
        database ordered them; late rows lie before the old watermark), and what is in the grace window."""
        pairs = [(_store(r[self.timestamp_column]), r[self.id_column]) for r in late + forward]
        newest = pairs[-1] if forward else (mark["ts"], mark["id"])  # type: ignore[index]
        horizon = _shift(newest[0], -self.grace) if self.grace else None
        recent: list[list[Any]] = []
        if horizon is not None:
            previous = [(t, i) for t, i in (mark or {}).get("recent", [])]
            oldest = _parse(horizon)
            kept = {(t, i) for t, i in previous + pairs if (moment := _parse(t)) is not None and moment >= oldest}
            recent = [list(p) for p in sorted(kept, key=lambda p: (_parse(p[0]), p[1]))]
        return {"ts": newest[0], "id": newest[1], "recent": recent}

    def _bulk(
        self, table: Table, ts_col: Column[Any], id_col: Column[Any], mark: Mark | None,
        checkpoints: CheckpointStore, batch_size: int,
    ) -> Iterator[SourceBatch]:
        """First load by id pages; returns the incremental watermark as of the load's start."""
        # The watermark to continue from is fixed before reading, so rows changed during the load are
        # read again afterwards (at-least-once; the mediator dedupes), never missed.
        top = self._rows(select(ts_col, id_col).order_by(ts_col.desc(), id_col.desc()).limit(1))
        start: Mark | None = (
            {"ts": _store(top[0][self.timestamp_column]), "id": top[0][self.id_column], "recent": []} if top else None
        )
        last = (mark or {}).get("bulk_id")
        while True:
            query = select(table).order_by(id_col).limit(batch_size)
            if last is not None:
                query = query.where(id_col > last)
            rows = self._rows(query)
            if not rows:
                break
            last = rows[-1][self.id_column]
            yield self._batch(rows, {"bulk_id": last}, checkpoints)
            if len(rows) < batch_size:
                break
        if start is not None:
            checkpoints.save_checkpoint(self.source_id, start)
        return start

    def row_count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self._table())).scalar_one())

    def close(self) -> None:
        self._engine.dispose()


def _is_set(flag: Any) -> bool:
    """Whether a soft-delete flag says deleted: 1, true, or text 1/Y/T/true/yes/是."""
    if isinstance(flag, str):
        return flag.strip().lower() in {"1", "y", "t", "true", "yes", "是"}
    return bool(flag)


def _store(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def _parse(value: Any) -> datetime | None:
    """A stored timestamp (a datetime, or text like 2026-01-31 08:00:00) as a datetime; None if it is not one."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _restore(value: Any, column: Column[Any]) -> Any:
    """A stored timestamp as the column's Python type (a datetime column gets a datetime back)."""
    try:
        wants_datetime = column.type.python_type is datetime
    except NotImplementedError:
        wants_datetime = False
    return datetime.fromisoformat(value) if wants_datetime and isinstance(value, str) else value


def _shift(value: Any, delta: timedelta) -> Any:
    """``value`` moved by ``delta`` in the form it was stored in, or None for a value that is no time
    (a row with a garbage timestamp gets no grace window; the adapter dead-letters it)."""
    moment = _parse(value)
    if moment is None:
        return None
    moved = moment + delta
    if isinstance(value, datetime):
        return moved
    return moved.strftime("%Y-%m-%d %H:%M:%S") if len(str(value)) <= 19 else moved.isoformat(sep=" ")
