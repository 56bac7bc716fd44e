"""End offsets and time lookups that hold on any Kafka-protocol broker, read with one group-less consumer.

Brokers differ in two ListOffsets answers, so both are checked against what a fetch shows:

- "latest": tansu 0.6 answers the base offset of the last record batch + 1, not the offset after its
  last record. A fetch response's high watermark is right on every broker, so the end offset is the
  larger of the two, learnt by fetching at the reported end (on Apache Kafka an empty fetch).
- by timestamp: tansu 0.6 answers offset 0 for any time. The answer ``o`` is checked by reading
  records ``o - 1`` and ``o`` (the one before must be older, ``o`` itself not); when that fails the
  partition is read forward from its beginning to the first record at or after the time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

log = logging.getLogger(__name__)

# Not 0: tansu answers a fetch with max_wait 0 with nothing at all.
_FETCH_WAIT_MS = 10


class OffsetReader:
    """Reads partitions outside any group; thread-safe (one caller at a time)."""

    def __init__(self, make_consumer: Callable[..., KafkaConsumer], timeout: float) -> None:
        self._consumer = make_consumer(group_id=None, fetch_max_wait_ms=_FETCH_WAIT_MS, enable_auto_commit=False)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._warned = False

    def end_offsets(self, tps: list[KafkaTopicPartition]) -> dict[KafkaTopicPartition, int]:
        """The offset after the last record of each partition."""
        with self._lock:
            reported = self._consumer.end_offsets(tps, timeout_ms=self._timeout * 1000)
            self._assign(tps)
            for tp in tps:
                self._consumer.seek(tp, reported[tp])
            deadline = time.monotonic() + self._timeout
            unknown = set(tps)
            while unknown and time.monotonic() < deadline:
                self._consumer.poll(timeout_ms=50, max_records=1)
                unknown = {tp for tp in unknown if self._consumer.highwater(tp) is None}
            if unknown:
                raise TimeoutError(f"no high watermark for {sorted(unknown)} within {self._timeout} s")
            return {tp: max(reported[tp], self._consumer.highwater(tp)) for tp in tps}

    def offset_for_time(self, tp: KafkaTopicPartition, timestamp_ms: int, end: int) -> int:
        """The first offset of ``tp`` whose timestamp is >= ``timestamp_ms``, or ``end`` if none is."""
        with self._lock:
            found = self._consumer.offsets_for_times({tp: timestamp_ms}, timeout_ms=self._timeout * 1000).get(tp)
            start = self._consumer.beginning_offsets([tp], timeout_ms=self._timeout * 1000)[tp]
            answer = end if found is None or found.offset < 0 else found.offset
            if self._consistent(tp, answer, timestamp_ms, start, end):
                return answer
            if not self._warned:
                self._warned = True
                log.warning(
                    "kafka: the broker's offset for time %d in %s (%d) disagrees with the records there; "
                    "reading the partition instead (tansu 0.6 answers 0 for any time)",
                    timestamp_ms, tp, answer,
                )
            for offset, record_time in self._records(tp, start, end):
                if record_time >= timestamp_ms:
                    return offset
            return end

    def _consistent(self, tp: KafkaTopicPartition, answer: int, timestamp_ms: int, start: int, end: int) -> bool:
        """Whether the record before ``answer`` is older than the time and the one at it is not."""
        first = max(answer - 1, start)
        seen = dict(self._records(tp, first, min(answer + 1, end)))
        before = seen.get(answer - 1)
        at = seen.get(answer)
        return (before is None or before < timestamp_ms) and (answer >= end or (at is not None and at >= timestamp_ms))

    def _records(self, tp: KafkaTopicPartition, first: int, stop: int) -> Iterator[tuple[int, int]]:
        """``(offset, timestamp)`` of each record of ``tp`` from ``first`` up to ``stop``, in order."""
        if first >= stop:
            return
        self._assign([tp])
        self._consumer.seek(tp, first)
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            batch = self._consumer.poll(timeout_ms=100).get(tp, [])
            for record in batch:
                if record.offset >= stop:
                    return
                yield record.offset, record.timestamp
            if batch:
                deadline = time.monotonic() + self._timeout
            if self._consumer.position(tp) >= stop:
                return
        raise TimeoutError(f"reading {tp} from {first} stalled for {self._timeout} s")

    def _assign(self, tps: list[KafkaTopicPartition]) -> None:
        # Dropping the assignment first forgets high watermarks learnt by an earlier call.
        self._consumer.unsubscribe()
        self._consumer.assign(tps)

    def close(self) -> None:
        with self._lock:
            self._consumer.close(autocommit=False)
