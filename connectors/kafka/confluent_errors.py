"""librdkafka's errors as the exchange's own.

``KafkaException`` carries a ``KafkaError``; :func:`kafka_errors` re-raises it as :class:`ConfigError`
(the request was wrong), :class:`TopicNotFound`, or the caller's choice (:class:`TransportError` by
default), saying what was being done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import KafkaError, KafkaException

from exchange.errors import ConfigError, TopicNotFound, TransportError

__all__ = ["CONFIG_ERRORS", "MISSING_TOPIC", "NO_IDEMPOTENCE", "kafka_cause", "kafka_errors", "reason"]

# Errors that mean a request was wrong, not that the bus failed.
CONFIG_ERRORS = {
    KafkaError._INVALID_ARG,
    KafkaError.INVALID_CONFIG,
    KafkaError.INVALID_PARTITIONS,
    KafkaError.INVALID_REPLICATION_FACTOR,
    KafkaError.TOPIC_EXCEPTION,
    KafkaError.POLICY_VIOLATION,
}
# How the broker (or librdkafka's metadata) says a topic or partition does not exist.
MISSING_TOPIC = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC)
# How a broker refuses the idempotent producer: librdkafka's local check, or the broker's answer.
NO_IDEMPOTENCE = {KafkaError._UNSUPPORTED_FEATURE, KafkaError.UNSUPPORTED_VERSION}


def reason(error: object) -> str:
    return error.str() if isinstance(error, KafkaError) else str(error)


@contextmanager
def kafka_errors(doing: str, error: type[Exception] = TransportError) -> Iterator[None]:
    """Re-raise librdkafka's exceptions as the exchange's own, saying what was being done."""
    try:
        yield
    except KafkaException as exc:
        kafka_error = exc.args[0] if exc.args else None
        message = f"kafka: {doing}: {reason(kafka_error)}"
        if isinstance(kafka_error, KafkaError):
            if kafka_error.code() in CONFIG_ERRORS:
                raise ConfigError(message) from exc
            if kafka_error.code() in MISSING_TOPIC:
                raise TopicNotFound(message) from exc
        raise error(message) from exc


def kafka_cause(exc: BaseException | None) -> KafkaError | None:
    """The KafkaError carried by ``exc`` or by what caused it."""
    while exc is not None:
        if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
            return exc.args[0]
        exc = exc.__cause__ or exc.__context__
    return None
