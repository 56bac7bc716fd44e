"""The Kafka transport: any Kafka-protocol cluster, through kafka-python (default) or confluent-kafka.

``options`` holds the client-neutral settings (:class:`KafkaOptions`); ``kafka_python`` is the
kafka-python transport, split into its producer, consumer, offset reader and error mapping;
``confluent`` is the confluent-kafka one, imported only when asked for.
"""

from __future__ import annotations

from connectors.kafka.kafka_python import KafkaTransport
from connectors.kafka.options import KafkaOptions

__all__ = ["KafkaOptions", "KafkaTransport"]
