"""Matching librdkafka's delivery reports to sends (pure logic; the real broker runs in the contract suite)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connectors.base import Delivery, partition_for
from connectors.kafka.confluent_batch import LazyDeliveries, SendBatch
from exchange.errors import TransportError


@dataclass
class Report:
    """The three things the batch reads from librdkafka's acknowledged message."""

    where: Delivery

    def topic(self) -> str:
        return self.where.topic

    def partition(self) -> int:
        return self.where.partition

    def offset(self) -> int:
        return self.where.offset


KEYS = [b"a", b"b", b"c", b"d", b"e", b"f"]
PARTITIONS = {"t": 3}


def batch_with_sends() -> SendBatch:
    batch = SendBatch()
    for key in KEYS:
        batch.add("t", b"v-" + key, key, {})
    batch.add("t", b"placed", None, {"partition": 2})
    return batch


def acknowledge_in_partition_order(batch: SendBatch, order: list[int]) -> None:
    """Report the sends at ``order`` (send indices), with each partition's offsets counting up."""
    next_offset: dict[int, int] = {}
    for index in order:
        key = batch.keys[index]
        partition = batch.extras.get(index, {}).get("partition", partition_for(key or b"", 3))
        offset = next_offset.get(partition, 100)
        next_offset[partition] = offset + 1
        batch.report(None, Report(Delivery("t", partition, offset)))


def test_reports_arriving_partition_by_partition_answer_their_sends_in_send_order() -> None:
    """librdkafka reports one partition's batch after another; deliveries still come back in send order."""
    batch = batch_with_sends()
    by_partition = sorted(range(7), key=lambda i: batch.extras.get(i, {}).get("partition",
                                                                              partition_for(batch.keys[i] or b"", 3)))
    acknowledge_in_partition_order(batch, by_partition)
    deliveries = LazyDeliveries(batch, PARTITIONS)
    assert len(deliveries) == 7
    assert [d.partition for d in deliveries] == [partition_for(key, 3) for key in KEYS] + [2]
    for partition in range(3):
        offsets = [d.offset for d in deliveries if d.partition == partition]
        assert offsets == list(range(100, 100 + len(offsets)))  # earlier send, earlier offset
    assert deliveries == list(deliveries)
    assert deliveries != []


def test_a_report_that_answers_no_send_is_an_error_not_a_delivery() -> None:
    """A report for a partition nothing was sent to means the ordering promise broke: say so."""
    batch = batch_with_sends()
    acknowledge_in_partition_order(batch, list(range(7)))
    batch.report(None, Report(Delivery("t", 1, 999)))
    batch.report(None, Report(Delivery("t", 1, 1000)))
    with pytest.raises(TransportError, match="2 delivery reports answer no send"):
        list(LazyDeliveries(batch, PARTITIONS))


def test_carried_over_batch_keeps_acknowledgements_and_names_the_sends_to_resend() -> None:
    """After a producer is replaced only the unacknowledged sends go again; the rest keep their place."""
    batch = batch_with_sends()
    acknowledge_in_partition_order(batch, [0, 1])  # the first two sends: a prefix of every partition
    batch.report(object(), None)  # type: ignore[arg-type]  # the old producer's failure: not carried over
    new, resend = batch.carried_over(PARTITIONS)
    assert resend == [2, 3, 4, 5, 6]
    assert not new.failed
    assert new.outstanding()
    assert len(new.acked_offsets) == 2
    acknowledge_in_partition_order_after(new, resend, existing=batch)
    assert not new.outstanding()
    assert [d.partition for d in LazyDeliveries(new, PARTITIONS)] == [partition_for(k, 3) for k in KEYS] + [2]


def acknowledge_in_partition_order_after(batch: SendBatch, order: list[int], existing: SendBatch) -> None:
    """Report ``order`` after the acknowledgements ``existing`` already holds, offsets continuing per partition."""
    next_offset: dict[int, int] = {}
    for partition, offset in zip(existing.acked_partitions, existing.acked_offsets, strict=True):
        next_offset[partition] = offset + 1
    for index in order:
        partition = batch.extras.get(index, {}).get("partition", partition_for(batch.keys[index] or b"", 3))
        offset = next_offset.get(partition, 100)
        next_offset[partition] = offset + 1
        batch.report(None, Report(Delivery("t", partition, offset)))
