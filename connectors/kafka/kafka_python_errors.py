"""kafka-python's exceptions, re-raised as the exchange's own (see ``exchange/errors.py``).

    kafka.errors.KafkaError                    ->  TransportError
    ├── KafkaTimeoutError, connection errors   ->  TransportError naming the unreachable servers
    ├── UnknownTopicOrPartitionError           ->  TopicNotFound
    ├── KafkaConfigurationError, Invalid*      ->  ConfigError
    └── CommitFailed, IllegalGeneration, …     ->  TransportError (the commit was fenced)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import kafka.errors as kafka_errors

from exchange.errors import ConfigError, TopicNotFound, TransportError

# A request the cluster refused as malformed: the caller's settings are wrong, not the bus.
_CONFIG_ERRORS = (
    kafka_errors.KafkaConfigurationError,
    kafka_errors.InvalidPartitionsError,
    kafka_errors.InvalidReplicationFactorError,
    kafka_errors.InvalidConfigurationError,
    kafka_errors.PolicyViolationError,
    kafka_errors.InvalidTopicError,
)
_UNREACHABLE = (kafka_errors.KafkaTimeoutError, kafka_errors.KafkaConnectionError, kafka_errors.NodeNotReadyError)
# A commit refused because the group moved on: the member's partitions may belong to another now.
FENCED = (
    kafka_errors.CommitFailedError,
    kafka_errors.IllegalGenerationError,
    kafka_errors.UnknownMemberIdError,
    kafka_errors.RebalanceInProgressError,
    kafka_errors.FencedInstanceIdError,
)


def reason(exc: BaseException) -> str:
    """A short text for ``exc``: kafka-python's messages repeat whole requests, so keep the head."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "…"


@contextmanager
def kafka_errors_as_transport(
    doing: str, servers: Sequence[str], error: type[TransportError] = TransportError
) -> Iterator[None]:
    """Re-raise kafka-python's errors inside the block as the exchange's, saying what was being done."""
    try:
        yield
    except kafka_errors.UnknownTopicOrPartitionError as exc:
        raise TopicNotFound(f"kafka: {doing}: {reason(exc)}") from exc
    except _CONFIG_ERRORS as exc:
        raise ConfigError(f"kafka: {doing}: {reason(exc)}") from exc
    except _UNREACHABLE as exc:
        raise error(f"kafka: {doing}: cluster at {','.join(servers)} unreachable or too slow: {reason(exc)}") from exc
    except kafka_errors.KafkaError as exc:
        raise error(f"kafka: {doing}: {reason(exc)}") from exc
    except TimeoutError as exc:  # our own waits on the cluster
        raise error(f"kafka: {doing}: cluster at {','.join(servers)} too slow: {exc}") from exc
