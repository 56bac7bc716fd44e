"""The typed bus: canonical records in, Confluent-framed Avro on topics out, and back.

Joins a transport (``connectors``), the schema registry, the codec and the topic list, so adapters
publish dicts and the mediator reads dicts, and every rejected record becomes a dead letter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors import Consumer, Message, Transport, open_transport
from exchange import metrics
from exchange.codec import AvroCodec
from exchange.dead_letters import DeadLetter
from exchange.errors import CodecError, ConfigError
from exchange.registry import RegisteredSchema, SchemaRegistry, register_standards
from exchange.settings import Settings
from exchange.topics import DEAD_LETTER_TOPIC, TopicSpec, load_topics


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """A message from the bus with its decoded Avro value."""

    message: Message
    spec: TopicSpec
    schema: RegisteredSchema
    value: dict[str, Any]


class Bus:
    """Topics, schemas and a transport, used together."""

    def __init__(
        self,
        transport: Transport,
        registry: SchemaRegistry | None = None,
        topics: dict[str, TopicSpec] | None = None,
        *,
        replication_factor: int | None = None,
    ) -> None:
        self.transport = transport
        self.replication_factor = replication_factor
        self.topics = topics or load_topics()
        self.registry = registry or SchemaRegistry()
        self.codec = AvroCodec(self.registry)
        # The schema each topic is written and read with: the current data standard, registered here.
        self.schemas: dict[str, RegisteredSchema] = register_standards(self.registry, self.topics)

    @classmethod
    def open(cls, settings: Settings, registry: SchemaRegistry | None = None) -> Bus:
        return cls(transport_for(settings), registry, replication_factor=settings.topic_replication_factor)

    def ensure_topics(self) -> dict[str, bool]:
        """Create every topic of the topic list that is missing; say which were created."""
        existing = self.transport.topics()
        created = {}
        for spec in self.topics.values():
            created[spec.name] = spec.name not in existing and self.transport.create_topic(
                spec.name, spec.partitions, replication_factor=self.replication_factor or spec.replication_factor,
                config=spec.kafka_config())
        return created

    def spec(self, topic: str) -> TopicSpec:
        try:
            return self.topics[topic]
        except KeyError:
            raise ConfigError(f"topic {topic!r} is not in the topic list") from None

    def publisher(self) -> Publisher:
        return Publisher(self)

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None) -> Consumer:
        return self.transport.consumer(group, topics, client_id=client_id)

    def decode(self, message: Message) -> DecodedRecord:
        """Decode ``message`` with the schema its payload names; raises CodecError/UnknownSchemaId."""
        spec = self.spec(message.topic)
        if message.value is None:
            raise CodecError("message has no value (a Kafka tombstone); records carry meta.operation=DELETE")
        schema, value = self.codec.decode(message.value, reader=self.schemas[message.topic])
        return DecodedRecord(message, spec, schema, value)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def transport_for(settings: Settings) -> Transport:
    """The transport named by ``settings.bus_url``, with the Kafka client and options it selects."""
    return open_transport(settings.bus_url, kafka_client=settings.kafka_client, kafka_options=settings.kafka_options())


class Publisher:
    """Encodes and buffers records and dead letters; ``flush`` confirms delivery of all of them."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._producer = bus.transport.producer()
        self._pending: Counter[str] = Counter()
        self._pending_rejects: Counter[tuple[str, str, str]] = Counter()

    def publish(self, topic: str, record: dict[str, Any]) -> None:
        """Encode ``record`` with the topic's latest schema and buffer it, keyed by the topic's key field.

        Raises ValidationError (nothing buffered) when the record does not match the schema.
        """
        spec = self.bus.spec(topic)
        payload = self.bus.codec.encode(self.bus.schemas[topic], record)
        key = record.get(spec.key)
        self._producer.send(topic, payload, key=None if key is None else str(key).encode("utf-8"))
        self._pending[topic] += 1

    def dead_letter(self, letter: DeadLetter) -> None:
        """Buffer ``letter`` on the dead-letter topic (keyed by department)."""
        payload = self.bus.codec.encode(self.bus.schemas[DEAD_LETTER_TOPIC], letter.to_record())
        key = (letter.department or "UNKNOWN").encode("utf-8")
        self._producer.send(DEAD_LETTER_TOPIC, payload, key=key, headers=letter.headers())
        self._pending_rejects[(letter.department or "UNKNOWN", letter.target_topic or "", letter.reason)] += 1

    def flush(self) -> None:
        """Deliver everything buffered; raises DeliveryError if the bus did not acknowledge it all."""
        try:
            self._producer.flush()
            for topic, count in self._pending.items():
                metrics.RECORDS_PRODUCED.labels(topic).inc(count)
            for (department, topic, reason), count in self._pending_rejects.items():
                metrics.RECORDS_REJECTED.labels(department, topic, reason).inc(count)
                metrics.RECORDS_PRODUCED.labels(DEAD_LETTER_TOPIC).inc(count)
        finally:  # a failed flush discards the batch, so its counts go too
            self._pending.clear()
            self._pending_rejects.clear()

    def close(self) -> None:
        self._producer.close()
