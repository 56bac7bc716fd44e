"""Transports (the embedded log, Kafka) and department sources (SQL tables, spreadsheet files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.base import Consumer, Delivery, Message, Producer, TopicInfo, TopicPartition, Transport
from exchange.errors import ConfigError

__all__ = [
    "Consumer",
    "Delivery",
    "Message",
    "Producer",
    "TopicInfo",
    "TopicPartition",
    "Transport",
    "embedded_path",
    "open_transport",
]

EMBEDDED_SCHEME = "embedded://"


def embedded_path(url: str) -> Path:
    """The file behind an ``embedded://`` URL.

    Follows SQLAlchemy's sqlite convention: ``embedded:///bus.db`` is relative to the working
    directory, ``embedded:////var/lib/exchange/bus.db`` is absolute.
    """
    if not url.startswith(EMBEDDED_SCHEME):
        raise ConfigError(f"not an embedded bus URL: {url!r} (expected embedded:///path/to/bus.db)")
    rest = url[len(EMBEDDED_SCHEME):]
    if not rest.startswith("/") or len(rest) < 2:
        raise ConfigError(f"embedded bus URL needs a path: {url!r} (expected embedded:///path/to/bus.db)")
    return Path(rest[1:])


KAFKA_SCHEME = "kafka://"
KAFKA_CLIENTS = ("kafka-python", "confluent")


def open_transport(
    url: str, *, kafka_client: str = "kafka-python", kafka_options: dict[str, Any] | None = None
) -> Transport:
    """Open the bus named by ``url`` (``embedded:///path`` or ``kafka://host:port[,host:port]``).

    For Kafka, ``kafka_client`` picks the client library (``kafka-python``, or ``confluent`` for
    confluent-kafka) and ``kafka_options`` overrides :class:`~connectors.kafka.KafkaOptions` fields.
    """
    if url.startswith(EMBEDDED_SCHEME):
        from connectors.embedded import EmbeddedTransport

        return EmbeddedTransport(embedded_path(url))
    if url.startswith(KAFKA_SCHEME):
        if kafka_client not in KAFKA_CLIENTS:
            raise ConfigError(f"unknown Kafka client {kafka_client!r}: expected one of {', '.join(KAFKA_CLIENTS)}")
        from connectors.kafka.options import KafkaOptions

        options = KafkaOptions.from_url(url, **(kafka_options or {}))
        if kafka_client == "confluent":
            # Imported only when chosen: confluent-kafka is an optional dependency.
            from connectors.kafka.confluent import ConfluentTransport

            return ConfluentTransport(options)
        from connectors.kafka.kafka_python import KafkaTransport

        return KafkaTransport(options)
    raise ConfigError(f"unknown bus URL scheme in {url!r}: expected embedded:/// or kafka://")
