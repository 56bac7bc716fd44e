"""Settings from ``EXCHANGE_*`` environment variables and an optional TOML file.

Precedence, highest first: explicit arguments, environment, the TOML file named by
``EXCHANGE_CONFIG`` (or ``./exchange.toml`` if present), defaults.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from exchange.clock import today_local
from exchange.errors import ConfigError

DEFAULT_DATA_DIR = Path("demo-data")


def _toml_file() -> Path | None:
    named = os.environ.get("EXCHANGE_CONFIG")
    if named:
        return Path(named)
    local = Path("exchange.toml")
    return local if local.exists() else None


class Settings(BaseSettings):
    """Where the bus, the state store and the data live."""

    model_config = SettingsConfigDict(env_prefix="EXCHANGE_", extra="ignore")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Folder for the embedded bus, state and demo sources.")
    bus_url: str = Field("", description="embedded:///path/bus.db or kafka://host:port[,host:port].")
    state_url: str = Field("", description="SQLAlchemy URL of the state store.")
    kafka_client: Literal["kafka-python", "confluent"] = "kafka-python"
    processes_enabled: list[str] | None = Field(None, description="Process ids to run; all when unset.")
    processes_dir: Path | None = Field(None, description="County folder of process YAMLs over schemas/processes.")
    evaluation_date: date | None = Field(
        None, description="Evaluate processes as of this date instead of today's China date (reproducible runs).")
    mediator_max_delay: float = Field(
        30.0, gt=0, description="Seconds a changed entity may wait for evaluation while the mediator catches up.")
    topic_replication_factor: int | None = Field(None, ge=1, description="Overrides every topic's replication.")
    secret_key: SecretStr | None = Field(
        None, description="Signs the web app's session cookies; when unset, generated once into data_dir/secret_key.")

    # Kafka client settings, passed to the transport (names follow connectors.kafka.KafkaOptions).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_linger_ms: int | None = Field(None, ge=0)
    kafka_batch_size: int | None = Field(None, ge=1)
    kafka_compression_type: str | None = None
    kafka_request_timeout_ms: int | None = Field(None, ge=100)
    kafka_delivery_timeout_ms: int | None = Field(None, ge=100)
    kafka_session_timeout_ms: int | None = Field(None, ge=1000)
    kafka_max_poll_interval_ms: int | None = Field(None, ge=1000)

    @field_validator("bus_url")
    @classmethod
    def _bus_scheme(cls, value: str) -> str:
        if value and not value.startswith(("embedded://", "kafka://")):
            raise ValueError("must start with embedded:/// or kafka://")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _toml_file()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    def model_post_init(self, context: Any) -> None:
        # The bus and state default to files inside the data folder, so one --data-dir moves everything.
        if not self.bus_url:
            self.bus_url = f"embedded:///{self.data_dir / 'bus.db'}"
        if not self.state_url:
            self.state_url = f"sqlite:///{self.data_dir / 'state.db'}"


    def today(self) -> date:
        """The date processes are evaluated as of: ``evaluation_date`` when set, else today in China."""
        return self.evaluation_date or today_local()

    def kafka_options(self) -> dict[str, Any]:
        """The Kafka settings that were given, as keyword arguments for the transport's options."""
        options: dict[str, Any] = {}
        for name in type(self).model_fields:
            if name.startswith("kafka_") and name != "kafka_client":
                value = getattr(self, name)
                if isinstance(value, SecretStr):
                    value = value.get_secret_value()
                if value is not None:
                    options[name.removeprefix("kafka_")] = str(value) if isinstance(value, Path) else value
        return options


def load_settings(**overrides: Any) -> Settings:
    """Settings with ``overrides`` (None values ignored); an invalid setting raises ConfigError naming it."""
    from pydantic import ValidationError as PydanticValidationError

    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"EXCHANGE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
