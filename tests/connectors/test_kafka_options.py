"""KafkaOptions: parsing kafka:// URLs, checking settings, and keeping the password out of logs."""

from __future__ import annotations

import pytest

from connectors.kafka import KafkaOptions
from exchange.errors import ConfigError


def test_from_url_reads_every_server_and_defaults_the_port() -> None:
    """kafka://h1:9093,h2 gives both servers, the second on Kafka's default port 9092."""
    options = KafkaOptions.from_url("kafka://broker-1.county.local:9093,10.0.0.7,[::1]:19092/")
    assert options.bootstrap_servers == ("broker-1.county.local:9093", "10.0.0.7:9092", "[::1]:19092")


def test_from_url_applies_overrides() -> None:
    """Keyword overrides set fields; the heartbeat follows a shorter session unless given."""
    options = KafkaOptions.from_url("kafka://k:9092", session_timeout_ms=2_000, linger_ms=0, compression_type="zstd")
    assert (options.session_timeout_ms, options.heartbeat_interval_ms) == (2_000, 200)
    assert (options.linger_ms, options.compression_type) == (0, "zstd")
    assert KafkaOptions.from_url("kafka://k").heartbeat_interval_ms == 1_000


@pytest.mark.parametrize(
    "url",
    ["embedded:///bus.db", "kafka://", "kafka://host:notaport", "kafka://host:70000", "kafka://a:1,,b:2",
     "kafka://user@host:9092", "kafka://host:9092/path", "kafka://host:9092?x=1", "http://host:9092"],
)
def test_from_url_refuses_malformed_urls_naming_them(url: str) -> None:
    """A malformed bus URL is a ConfigError that quotes the URL."""
    with pytest.raises(ConfigError, match="URL"):
        KafkaOptions.from_url(url)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"no_such_option": 1}, "unknown Kafka options"),
        ({"bootstrap_servers": ("x:1",)}, "come from the URL"),
        ({"security_protocol": "TLS"}, "security_protocol"),
        ({"security_protocol": "SASL_SSL"}, "needs a sasl_mechanism"),
        ({"compression_type": "brotli"}, "compression_type"),
        ({"session_timeout_ms": 0}, "session_timeout_ms"),
        ({"session_timeout_ms": 2_000, "heartbeat_interval_ms": 1_000}, "a third of session_timeout_ms"),
        ({"request_timeout_ms": 200_000}, "delivery_timeout_ms"),
        ({"enable_idempotence": "yes"}, "enable_idempotence"),
        ({"linger_ms": True}, "linger_ms"),
    ],
)
def test_invalid_settings_are_config_errors_naming_the_setting(overrides: dict[str, object], match: str) -> None:
    """Each bad setting is refused up front with a ConfigError naming it."""
    with pytest.raises(ConfigError, match=match):
        KafkaOptions.from_url("kafka://k:9092", **overrides)


def test_repr_masks_the_password_and_shows_what_differs() -> None:
    """The SASL password never appears in a repr; settings left at their defaults are not listed."""
    options = KafkaOptions.from_url(
        "kafka://k:9092", security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
        sasl_username="county", sasl_password="s3cret-Pa55",
    )
    text = repr(options)
    assert "s3cret" not in text
    assert "**********" in text
    assert "sasl_username='county'" in text
    assert "linger_ms" not in text
    assert options.sasl_password == "s3cret-Pa55"  # still usable by the clients


def test_options_are_frozen() -> None:
    """Options are values: a transport's settings cannot change under it."""
    options = KafkaOptions.from_url("kafka://k:9092")
    with pytest.raises(AttributeError):
        options.linger_ms = 50  # type: ignore[misc]
