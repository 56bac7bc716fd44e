"""Table definitions of the state store (SQLAlchemy Core; SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")

entity_facts = Table(
    "entity_facts",
    metadata,
    Column("entity_type", String(32), primary_key=True),
    Column("entity_key", String(64), primary_key=True),
    Column("record_type", String(64), primary_key=True),
    Column("fact_key", String(64), primary_key=True, doc="Tells apart several facts of one type, or ''."),
    Column("department", String(64), primary_key=True),
    Column("source_record_id", String(128), nullable=False),
    Column("event_time", BigInteger, nullable=False, doc="Epoch milliseconds when the fact became true."),
    Column("received_time", BigInteger, nullable=False, doc="Epoch milliseconds when the adapter read it."),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("payload", Json, nullable=False),
)

forms = Table(
    "forms",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("process_id", String(64), nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("entity_key", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("grid_code", String(32), nullable=True),
    Column("division_code", String(32), nullable=True),
    Column("title", Text, nullable=False, default=""),
    Column("fields", Json, nullable=False),
    Column("manual_fields", Json, nullable=False),
    Column("conflicts", Json, nullable=False),
    Column("prefilled_count", Integer, nullable=False),
    Column("manual_count", Integer, nullable=False),
    Column("digest", String(64), nullable=False, doc="Hash of the inputs; unchanged inputs change nothing."),
    Column("revision", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # The review (exchange.state.lifecycle): staff corrections of pre-filled values, who decided and when,
    # and what changed since the last review when new inputs reopened a reviewed form.
    Column("corrections", Json, nullable=True, doc="[{field, value, reason, original: {value, provenance}}]"),
    Column("reviewed_by", String(128), nullable=True),
    Column("reviewed_at", BigInteger, nullable=True),
    Column("changes", Json, nullable=True, doc="What the latest update or reopening changed (a form diff)."),
    UniqueConstraint("process_id", "entity_key", name="uq_forms_process_entity"),
    Index("ix_forms_grid_status", "grid_code", "status"),
)

form_history = Table(
    "form_history",
    metadata,
    Column("form_id", String(36), primary_key=True),
    Column("revision", Integer, primary_key=True, autoincrement=False, doc="The form's revision after the change."),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False, doc="A staff account, or 'mediator' for new inputs."),
    Column("action", String(16), nullable=False,
           doc="created, updated, superseded, reopened, confirmed, corrected, rejected"),
    Column("status_before", String(32), nullable=True),
    Column("status_after", String(32), nullable=False),
    Column("reason", Text, nullable=True),
    Column("changes", Json, nullable=True, doc="The diff, the corrections or the manual values of the change."),
)

# The outbox of feedback to source departments: written in the transaction of the correction, published
# by exchange.feedback and marked sent after the bus acknowledged it (a crash in between re-publishes the
# same id; consumers dedupe by feedback_id).
feedback_outbox = Table(
    "feedback_outbox",
    metadata,
    Column("id", String(36), primary_key=True, doc="Deterministic: uuid5 of form, revision, field and source."),
    Column("topic", String(249), nullable=False),
    Column("department", String(64), nullable=False),
    Column("record", Json, nullable=False, doc="The gov.exchange.common.Feedback record (times in epoch ms)."),
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger, nullable=True),
    Index("ix_feedback_outbox_sent", "sent_at"),
)

consumer_offsets = Table(
    "consumer_offsets",
    metadata,
    Column("group_id", String(128), primary_key=True),
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", String(255), primary_key=True, doc="Whose progress: a source id, a mediator group."),
    Column("value", Json, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

processed_files = Table(
    "processed_files",
    metadata,
    Column("source_id", String(255), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("filename", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("processed_at", BigInteger, nullable=False),
)

pending_evaluations = Table(
    "pending_evaluations",
    metadata,
    Column("entity_type", String(32), primary_key=True),
    Column("entity_key", String(64), primary_key=True),
    Column("since", BigInteger, nullable=False, doc="When the entity's facts first changed unevaluated."),
    Column("ingest_time", BigInteger, nullable=False, doc="Oldest ingest time of the changes waiting."),
)

# -- the schema registry (Confluent-compatible); ids are content-derived, see exchange.registry

registry_schemas = Table(
    "registry_schemas",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("schema_text", Text, nullable=False),
)

registry_versions = Table(
    "registry_versions",
    metadata,
    Column("subject", String(255), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("schema_id", BigInteger, nullable=False, index=True),
    Column("deleted", Boolean, nullable=False, default=False),
)

registry_config = Table(
    "registry_config",
    metadata,
    Column("subject", String(255), primary_key=True, doc="'' for the global setting."),
    Column("compatibility", String(32), nullable=False),
)

# -- API keys for pushing records over HTTP (exchange.push); only the SHA-256 of a key is kept

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("department", String(64), nullable=False, doc="Department enum symbol the key publishes for."),
    Column("key_hash", String(64), nullable=False, unique=True, doc="Hex SHA-256 of the key."),
    Column("label", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)
