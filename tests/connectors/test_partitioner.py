"""Kafka's default partitioner, reimplemented so the embedded log places keys as Kafka clients do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from connectors.partitioner import murmur2, partition_for


@pytest.mark.parametrize(
    ("key", "java_value"),
    [  # from Apache Kafka's UtilsTest.testMurmur2 (signed Java ints)
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_matches_the_java_client(key: bytes, java_value: int) -> None:
    """The hash equals Apache Kafka's reference values bit for bit."""
    assert murmur2(key) == java_value & 0xFFFFFFFF


@given(st.binary(max_size=64), st.integers(min_value=1, max_value=64))
def test_partition_matches_kafka_python(key: bytes, partitions: int) -> None:
    """Any key lands in the partition kafka-python's default partitioner picks."""
    assert partition_for(key, partitions) == (kafka_python_murmur2(key) & 0x7FFFFFFF) % partitions
