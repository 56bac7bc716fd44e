"""The list of bus topics (``schemas/topics.yaml``): value schema, key field, partitions, and entity."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exchange.errors import ConfigError
from schemas import TOPICS_FILE

DEAD_LETTER_TOPIC = "exchange.dead-letters"


class TopicSpec(BaseModel):
    """One topic: what it carries and how its records are keyed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    schema_name: str = Field(alias="schema", description="Full name of the Avro value schema.")
    key: str = Field(description="Field whose value is the message key (the entity key).")
    partitions: int = Field(4, ge=1)
    department: str
    record_type: str
    entity: str | None = Field(None, description="Entity type the records describe; None for non-entity topics.")
    fact_key: str | None = Field(None, description="Field telling apart several facts of one type per entity.")
    compatibility: str | None = Field(None, description="Subject's compatibility mode; default BACKWARD_TRANSITIVE.")
    replication_factor: int = Field(1, ge=1, description="Copies of each partition on a Kafka cluster.")
    retention_ms: int = Field(-1, ge=-1, description="How long Kafka keeps messages; -1 forever (rebuilds need it).")
    config: dict[str, str] = Field(default_factory=dict, description="Further Kafka topic configs.")

    def kafka_config(self) -> dict[str, str]:
        """Topic configs for ``create_topic`` (retention and anything set under ``config``)."""
        return {"retention.ms": str(self.retention_ms), **self.config}

    @property
    def subject(self) -> str:
        return f"{self.name}-value"


@cache
def load_topics(path: Path = TOPICS_FILE) -> dict[str, TopicSpec]:
    """Every topic in ``path``, by name."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        defaults = raw.get("defaults", {})
        return {name: TopicSpec(name=name, **(defaults | spec)) for name, spec in raw["topics"].items()}
    except (OSError, KeyError, TypeError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"cannot load topic list {path}: {exc}") from exc


def topic_for(department: str, record_type: str) -> TopicSpec:
    """The topic a department publishes ``record_type`` records to."""
    for spec in load_topics().values():
        if spec.department == department and spec.record_type == record_type:
            return spec
    raise ConfigError(f"no topic for {department} {record_type} records")
