"""Consumer-group membership on the shared file: heartbeats, a deterministic assignment, partition leases.

Every member computes the same assignment from the sorted set of live members, so no coordinator is
needed. Leases make the hand-over safe: a member reads a partition only while its lease row names it,
takes a lease only when it is free, and drops the leases it should no longer hold at its next sync. A
member silent for longer than its session timeout is dead: the next sync by anyone removes it and its
leases, and a commit by such a zombie is refused because it no longer holds the lease.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence

from connectors.embedded.store import TopicRow, now_ms, sql_errors, transaction
from exchange.errors import TransportError

Slot = tuple[int, int]  # (topic id, partition)


def owner(subscribers: Sequence[str], topic: str, partition: int) -> str:
    """The member owning ``partition`` of ``topic``: round-robin over the sorted subscribers.

    The start is rotated by a hash of the topic name so that many one-partition topics spread over
    the members instead of all landing on the first.
    """
    return subscribers[(zlib.crc32(topic.encode()) + partition) % len(subscribers)]


class Membership:
    """One member's view of its group, kept in the tables ``group_members`` and ``partition_leases``."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        group: str,
        member: str,
        client_id: str | None,
        topics: Sequence[TopicRow],
        session_timeout_ms: int,
    ) -> None:
        self._conn = conn
        self.group = group
        self.member = member
        self._client_id = client_id
        self._topics = topics
        self._topic_ids = json.dumps(sorted(t.id for t in topics))
        self._session_timeout_ms = session_timeout_ms

    def sync(self) -> tuple[dict[Slot, int], set[Slot]]:
        """Heartbeat and rebalance; return the partitions this member now leases and those it just took.

        Each leased partition maps to the group's committed offset, or 0 when there is none. Only a
        partition held without a break may keep its reading position: one just taken was someone
        else's in between, even if this member held it before.
        """
        now = now_ms()
        group, me = self.group, self.member
        with transaction(self._conn, f"rebalance of group {group!r}") as conn:
            # Joining and heartbeating are one upsert, so a member expired while paused simply rejoins.
            conn.execute(
                "INSERT INTO group_members (grp, member, client_id, topic_ids, session_timeout_ms, "
                "last_heartbeat_ms) VALUES (?,?,?,?,?,?) ON CONFLICT (grp, member) "
                "DO UPDATE SET last_heartbeat_ms = excluded.last_heartbeat_ms",
                (group, me, self._client_id, self._topic_ids, self._session_timeout_ms, now),
            )
            conn.execute(
                "DELETE FROM group_members WHERE grp = ? AND last_heartbeat_ms + session_timeout_ms < ?",
                (group, now),
            )
            conn.execute(
                "DELETE FROM partition_leases WHERE grp = ? AND member NOT IN "
                "(SELECT member FROM group_members WHERE grp = ?)",
                (group, group),
            )
            members = conn.execute(
                "SELECT member, topic_ids FROM group_members WHERE grp = ? ORDER BY member", (group,)
            ).fetchall()
            leases: dict[Slot, str] = {
                (topic_id, partition): holder
                for topic_id, partition, holder in conn.execute(
                    "SELECT topic_id, partition, member FROM partition_leases WHERE grp = ?", (group,)
                )
            }
            wanted = self._assigned(members)
            conn.executemany(
                "DELETE FROM partition_leases WHERE grp = ? AND topic_id = ? AND partition = ?",
                [(group, *slot) for slot, holder in leases.items() if holder == me and slot not in wanted],
            )
            # A slot still leased by another live member is left alone: it lets go at its next sync.
            taken = [slot for slot in wanted if slot not in leases]
            conn.executemany(
                "INSERT INTO partition_leases (grp, topic_id, partition, member) VALUES (?,?,?,?)",
                [(group, *slot, me) for slot in taken],
            )
            committed = self._committed(conn)
        held = {slot: committed.get(slot, 0) for slot in wanted if slot in taken or leases.get(slot) == me}
        return held, set(taken)

    def _assigned(self, members: list[tuple[str, str]]) -> set[Slot]:
        subscribers: dict[int, list[str]] = defaultdict(list)
        for member, topic_ids in members:  # already sorted by member id
            for topic_id in json.loads(topic_ids):
                subscribers[topic_id].append(member)
        return {
            (topic.id, partition)
            for topic in self._topics
            for partition in range(topic.partitions)
            if owner(subscribers[topic.id], topic.name, partition) == self.member
        }

    def _committed(self, conn: sqlite3.Connection) -> dict[Slot, int]:
        rows = conn.execute(
            "SELECT topic_id, partition, committed_offset FROM group_offsets WHERE grp = ?", (self.group,)
        )
        return {(topic_id, partition): offset for topic_id, partition, offset in rows}

    def commit(self, offsets: Mapping[Slot, int]) -> None:
        """Store ``offsets`` for the group, all or none; refused unless this member leases every slot."""
        with transaction(self._conn, f"commit for group {self.group!r}") as conn:
            held = set(
                conn.execute(
                    "SELECT topic_id, partition FROM partition_leases WHERE grp = ? AND member = ?",
                    (self.group, self.member),
                ).fetchall()
            )
            lost = sorted(slot for slot in offsets if slot not in held)
            if lost:
                raise TransportError(
                    f"embedded bus: member {self.member} of group {self.group!r} no longer holds "
                    f"(topic id, partition) {lost}; its partitions were reassigned, commit refused"
                )
            conn.executemany(
                "INSERT INTO group_offsets (grp, topic_id, partition, committed_offset) VALUES (?,?,?,?) "
                "ON CONFLICT (grp, topic_id, partition) "
                "DO UPDATE SET committed_offset = excluded.committed_offset",
                [(self.group, *slot, offset) for slot, offset in offsets.items()],
            )
            conn.execute(
                "UPDATE group_members SET last_heartbeat_ms = ? WHERE grp = ? AND member = ?",
                (now_ms(), self.group, self.member),
            )

    def leave(self) -> None:
        """Remove this member and its leases, so the others take its partitions at their next sync."""
        key = (self.group, self.member)
        with transaction(self._conn, f"leaving group {self.group!r}") as conn:
            conn.execute("DELETE FROM partition_leases WHERE grp = ? AND member = ?", key)
            conn.execute("DELETE FROM group_members WHERE grp = ? AND member = ?", key)


def committed_offsets(conn: sqlite3.Connection, group: str, topic_id: int) -> dict[int, int]:
    """Per partition of ``topic_id``, ``group``'s committed offset."""
    with sql_errors(f"reading offsets of group {group!r}"):
        rows = conn.execute(
            "SELECT partition, committed_offset FROM group_offsets WHERE grp = ? AND topic_id = ? "
            "ORDER BY partition",
            (group, topic_id),
        ).fetchall()
    return dict(rows)
