"""The embedded single-machine bus: one SQLite file that several processes may share."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from connectors.base import Consumer, Producer, TopicInfo, Transport, check_subscription, check_topic_name
from connectors.embedded.consumer import EmbeddedConsumer
from connectors.embedded.group import committed_offsets
from connectors.embedded.producer import EmbeddedProducer
from connectors.embedded.store import (
    TopicRow,
    connect,
    create_schema,
    load_topics,
    now_ms,
    sql_errors,
    transaction,
)
from exchange.errors import ConfigError, TopicNotFound, TransportError


class EmbeddedTransport(Transport):
    """The bus in the SQLite file ``path`` (created with its parent folders if missing).

    ``session_timeout`` is how long a consumer may go without polling or committing before its group
    takes its partitions away; ``heartbeat_interval`` is how often a polling consumer heartbeats and
    rebalances; ``poll_interval`` is how often a waiting poll looks for new messages.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        default_partitions: int = 4,
        session_timeout: float = 10.0,
        heartbeat_interval: float = 0.5,
        poll_interval: float = 0.025,
        busy_timeout: float = 30.0,
    ) -> None:
        if default_partitions < 1:
            raise ConfigError(f"default_partitions must be at least 1, got {default_partitions}")
        if heartbeat_interval >= session_timeout:
            raise ConfigError("heartbeat_interval must be shorter than session_timeout")
        self.path = Path(path)
        self._default_partitions = default_partitions
        self._session_timeout = session_timeout
        self._heartbeat_interval = heartbeat_interval
        self._poll_interval = poll_interval
        self._busy_timeout = busy_timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(f"embedded bus: cannot create the folder of {self.path}: {exc}") from exc
        self._conn = connect(self.path, busy_timeout)
        try:
            create_schema(self._conn)
        except BaseException:
            self._conn.close()
            raise
        self._lock = threading.Lock()  # the admin connection may be shared by threads; clients are not
        # Held until they close, so closing the transport can make forgotten members leave their groups.
        self._clients: set[EmbeddedProducer | EmbeddedConsumer] = set()

    def __enter__(self) -> EmbeddedTransport:
        return self

    def __repr__(self) -> str:
        return f"EmbeddedTransport({str(self.path)!r})"

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        *,
        replication_factor: int = 1,
        config: dict[str, str] | None = None,
    ) -> bool:
        """Create ``name`` (``default_partitions`` if ``partitions`` is None); False if it existed."""
        check_topic_name(name)
        count = self._default_partitions if partitions is None else partitions
        if not isinstance(count, int) or count < 1:
            raise ConfigError(f"topic {name!r} needs at least 1 partition, got {count!r}")
        with self._lock, transaction(self._conn, f"creating topic {name!r}") as conn:
            if conn.execute("SELECT 1 FROM topics WHERE name = ?", (name,)).fetchone():
                return False
            cursor = conn.execute(
                "INSERT INTO topics (name, partitions, created_ms) VALUES (?,?,?)", (name, count, now_ms())
            )
            conn.executemany(
                "INSERT INTO partitions (topic_id, partition, next_offset) VALUES (?,?,0)",
                [(cursor.lastrowid, p) for p in range(count)],
            )
        return True

    def topics(self) -> dict[str, TopicInfo]:
        return {name: TopicInfo(name, row.partitions) for name, row in self._topic_rows().items()}

    def producer(self) -> Producer:
        producer = EmbeddedProducer(self.path, self._busy_timeout, self._clients.discard)
        self._clients.add(producer)
        return producer

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None) -> Consumer:
        """A new member of ``group``; it joins at once and leases its share of the partitions."""
        names = check_subscription(group, topics)
        known = self._topic_rows()
        missing = [name for name in names if name not in known]
        if missing:
            raise TopicNotFound(f"embedded bus: topics {missing} do not exist")
        consumer = EmbeddedConsumer(
            self.path,
            self._busy_timeout,
            group,
            [known[name] for name in names],
            client_id=client_id,
            on_close=self._clients.discard,
            session_timeout=self._session_timeout,
            heartbeat_interval=self._heartbeat_interval,
            poll_interval=self._poll_interval,
        )
        self._clients.add(consumer)
        return consumer

    def end_offsets(self, topic: str) -> dict[int, int]:
        topic_id = self._topic_id(topic)
        with self._lock, sql_errors(f"reading end offsets of {topic!r}"):
            rows = self._conn.execute(
                "SELECT partition, next_offset FROM partitions WHERE topic_id = ? ORDER BY partition",
                (topic_id,),
            ).fetchall()
        return dict(rows)

    def committed_offsets(self, group: str, topic: str) -> dict[int, int]:
        topic_id = self._topic_id(topic)
        with self._lock:
            return committed_offsets(self._conn, group, topic_id)

    def delete_group(self, group: str) -> None:
        """Forget ``group``'s committed offsets; refused while the group has live members."""
        with self._lock, transaction(self._conn, f"deleting group {group!r}") as conn:
            live = conn.execute(
                "SELECT count(*) FROM group_members "
                "WHERE grp = ? AND last_heartbeat_ms + session_timeout_ms >= ?",
                (group, now_ms()),
            ).fetchone()[0]
            if live:
                raise TransportError(f"embedded bus: group {group!r} still has {live} live members")
            for table in ("group_offsets", "partition_leases", "group_members"):
                conn.execute(f"DELETE FROM {table} WHERE grp = ?", (group,))

    def close(self) -> None:
        """Close every producer and consumer made here (consumers leave their groups), then the file."""
        try:
            for client in list(self._clients):
                client.close()
        finally:
            with self._lock:
                self._conn.close()

    def _topic_rows(self) -> dict[str, TopicRow]:
        with self._lock:
            return load_topics(self._conn)

    def _topic_id(self, topic: str) -> int:
        row = self._topic_rows().get(topic)
        if row is None:
            raise TopicNotFound(f"embedded bus: topic {topic!r} does not exist")
        return row.id
