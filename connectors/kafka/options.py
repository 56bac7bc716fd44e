"""How to reach a Kafka-protocol cluster and how to tune its clients, in names no client owns.

Each implementation maps these to its own client's keys (``kafka_python`` to kafka-python's, ``confluent``
to librdkafka's). The group defaults are chosen for quick hand-overs that are still safe on a real
cluster; see :class:`KafkaOptions`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from exchange.errors import ConfigError

__all__ = ["DEFAULT_PORT", "KafkaOptions"]

SCHEME = "kafka://"
DEFAULT_PORT = 9092
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER")
COMPRESSION_TYPES = ("gzip", "snappy", "lz4", "zstd")
# host:port, where host is a name, an IPv4 address or a bracketed IPv6 address.
_SERVER = re.compile(r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?")


@dataclass(frozen=True, kw_only=True)
class KafkaOptions:
    """A cluster, its security, and client tuning. Times are in milliseconds.

    Consumer-group defaults, and why (join times measured on tansu 0.6, which, like Apache Kafka's
    ``group.initial.rebalance.delay.ms``, holds a JoinGroup open for a while to gather members: about
    half the session timeout):

    - ``session_timeout_ms=10_000``: a crashed member's partitions move on within 10 s; Apache Kafka
      refuses less than 6 s by default (``group.min.session.timeout.ms``). A first join took 5 s on tansu
      (45 s sessions, kafka-python's default, took 23 s).
    - ``heartbeat_interval_ms``: a tenth of the session, at most 1 s (1 s by default): well under the
      third Kafka asks for, so a few lost heartbeats are survivable.
    - ``max_poll_interval_ms=300_000``: how long a member may process one batch before the group takes
      its partitions; also the rebalance timeout. tansu's join wait follows the session, not this (a
      first join took 3 s with a 6 s session whether this was 5, 10 or 60 s), so it stays at Kafka's
      default.

    Measured with kafka-python and the join fix in ``kafka_python_consumer.keep_finished_join``: with
    10 s sessions a second member joined in 6 s and a survivor took over a leaver's partitions in 6 s;
    the contract tests use 2 s sessions (about 1 s per join).
    """

    bootstrap_servers: tuple[str, ...]
    client_id: str = "grassroots-exchange"

    # Security, passed through to the client.
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    # Every client: how long to wait for the cluster before reporting it unreachable.
    connect_timeout_ms: int = 10_000
    request_timeout_ms: int = 30_000
    retry_backoff_ms: int = 100

    # Producer: durable by default (acks=all is not an option), batched a little.
    enable_idempotence: bool = True
    linger_ms: int = 5
    batch_size: int = 64 * 1024
    compression_type: str | None = None
    delivery_timeout_ms: int = 120_000

    # Consumer groups.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int | None = None  # a tenth of the session, at most 1 s
    max_poll_interval_ms: int = 300_000
    fetch_max_bytes: int = 50 * 1024 * 1024
    max_partition_fetch_bytes: int = 1024 * 1024
    fetch_max_wait_ms: int = 100

    # Admin: topics created without an explicit value get these (None: the broker's default).
    default_partitions: int | None = None
    default_replication_factor: int = 1

    def __post_init__(self) -> None:
        servers = self.bootstrap_servers
        if isinstance(servers, str) or not isinstance(servers, tuple | list):
            raise ConfigError(f"kafka: bootstrap_servers must be a tuple of 'host:port', got {servers!r}")
        object.__setattr__(self, "bootstrap_servers", tuple(_server(s) for s in servers))
        if not self.bootstrap_servers:
            raise ConfigError("kafka: no bootstrap servers given")
        if not isinstance(self.client_id, str) or not self.client_id:
            raise ConfigError(f"kafka: client_id must be a non-empty string, got {self.client_id!r}")
        _one_of("security_protocol", self.security_protocol, SECURITY_PROTOCOLS)
        if self.sasl_mechanism is not None:
            _one_of("sasl_mechanism", self.sasl_mechanism, SASL_MECHANISMS)
        elif self.security_protocol.startswith("SASL_"):
            raise ConfigError(f"kafka: security_protocol {self.security_protocol} needs a sasl_mechanism")
        if self.compression_type is not None:
            _one_of("compression_type", self.compression_type, COMPRESSION_TYPES)
        if not isinstance(self.enable_idempotence, bool):
            raise ConfigError(f"kafka: enable_idempotence must be true or false, got {self.enable_idempotence!r}")
        if self.heartbeat_interval_ms is None and isinstance(self.session_timeout_ms, int):
            object.__setattr__(self, "heartbeat_interval_ms", max(min(1_000, self.session_timeout_ms // 10), 1))
        for name in ("connect_timeout_ms", "request_timeout_ms", "delivery_timeout_ms", "session_timeout_ms",
                     "heartbeat_interval_ms", "max_poll_interval_ms", "fetch_max_bytes",
                     "max_partition_fetch_bytes", "fetch_max_wait_ms", "batch_size"):
            _positive(name, getattr(self, name))
        for name in ("retry_backoff_ms", "linger_ms"):
            _positive(name, getattr(self, name), minimum=0)
        _positive("default_replication_factor", self.default_replication_factor)
        if self.default_partitions is not None:
            _positive("default_partitions", self.default_partitions)
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:  # type: ignore[operator]
            raise ConfigError(
                f"kafka: heartbeat_interval_ms ({self.heartbeat_interval_ms}) must be at most a third of "
                f"session_timeout_ms ({self.session_timeout_ms})"
            )
        if self.delivery_timeout_ms < self.linger_ms + self.request_timeout_ms:
            raise ConfigError("kafka: delivery_timeout_ms must be at least linger_ms + request_timeout_ms")
        if self.fetch_max_wait_ms >= self.request_timeout_ms:
            raise ConfigError("kafka: fetch_max_wait_ms must be shorter than request_timeout_ms")

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> KafkaOptions:
        """Options for ``kafka://host:port[,host:port…]`` (port 9092 if left out), with ``overrides``."""
        if not isinstance(url, str) or not url.startswith(SCHEME):
            raise ConfigError(f"not a Kafka bus URL: {url!r} (expected kafka://host:port[,host:port])")
        rest = url[len(SCHEME):].rstrip("/")
        if not rest or any(c in rest for c in "/?#@"):
            raise ConfigError(f"invalid Kafka bus URL {url!r}: expected kafka://host:port[,host:port]")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown Kafka options {unknown} for {url!r}; known: {sorted(known)}")
        if "bootstrap_servers" in overrides:
            raise ConfigError(f"the bootstrap servers come from the URL {url!r}, not from the options")
        try:
            servers = tuple(_server(part) for part in rest.split(","))
        except ConfigError as exc:
            raise ConfigError(f"invalid Kafka bus URL {url!r}: {exc}") from None
        return cls(bootstrap_servers=servers, **overrides)

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "sasl_password" and value is not None:
                value = "**********"
            if value != f.default or f.name == "bootstrap_servers":
                shown.append(f"{f.name}={value!r}")
        return f"KafkaOptions({', '.join(shown)})"


def _server(text: object) -> str:
    """``text`` as ``host:port``, checked; the port defaults to 9092."""
    match = _SERVER.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"kafka: {text!r} is not a valid host:port")
    port = int(match["port"] or DEFAULT_PORT)
    if not 0 < port < 65536:
        raise ConfigError(f"kafka: port {port} of {text!r} is out of range")
    return f"{match['host']}:{port}"


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"kafka: {name} must be one of {', '.join(allowed)}, got {value!r}")


def _positive(name: str, value: object, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"kafka: {name} must be an integer >= {minimum}, got {value!r}")
