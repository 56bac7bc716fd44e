"""The registry kept in the SQL state store, shared by every process of the bus."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from exchange.registry.schema_registry import SchemaRegistry
from exchange.registry.standards import register_standards
from exchange.registry.store import RegistryStore, VersionRow
from exchange.state import StateStore
from exchange.state.bulk import dialect_insert
from exchange.state.store import upsert
from exchange.state.tables import registry_config, registry_schemas, registry_versions

GLOBAL = ""


def sql_registry(state: StateStore) -> SchemaRegistry:
    """The registry in ``state``'s database, holding every data standard from ``schemas/``."""
    registry = SchemaRegistry(SqlRegistryStore(state.engine))
    register_standards(registry)
    return registry


class SqlRegistryStore(RegistryStore):
    """Registry tables in the state store (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put_schema(self, schema_id: int, text: str) -> None:
        with self.engine.begin() as conn:
            stmt = dialect_insert(conn, registry_schemas).values(id=schema_id, schema_text=text)
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))

    def schema_text(self, schema_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(registry_schemas.c.schema_text).where(registry_schemas.c.id == schema_id)
            ).scalar_one_or_none()

    @staticmethod
    def _row(r: object) -> VersionRow:
        return VersionRow(r.subject, r.version, r.schema_id, bool(r.deleted))  # type: ignore[attr-defined]

    def versions(self, subject: str, *, include_deleted: bool = False) -> list[VersionRow]:
        query = select(registry_versions).where(registry_versions.c.subject == subject)
        if not include_deleted:
            query = query.where(registry_versions.c.deleted.is_(False))
        with self.engine.connect() as conn:
            return [self._row(r) for r in conn.execute(query.order_by(registry_versions.c.version))]

    def add_version(self, subject: str, schema_id: int) -> VersionRow:
        # Two processes registering at once race for the next version number; the primary key
        # rejects the loser, which then finds the winner's row or takes the following number.
        for _ in range(5):
            try:
                with self.engine.begin() as conn:
                    live = conn.execute(select(registry_versions).where(
                        registry_versions.c.subject == subject, registry_versions.c.schema_id == schema_id,
                        registry_versions.c.deleted.is_(False))).first()
                    if live is not None:
                        return self._row(live)
                    latest = conn.execute(select(func.max(registry_versions.c.version)).where(
                        registry_versions.c.subject == subject)).scalar_one_or_none()
                    row = VersionRow(subject, (latest or 0) + 1, schema_id)
                    conn.execute(registry_versions.insert().values(
                        subject=subject, version=row.version, schema_id=schema_id, deleted=False))
                    return row
            except IntegrityError:
                continue
        raise RuntimeError(f"could not register a version of {subject} after 5 concurrent attempts")

    def set_deleted(self, subject: str, version: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(registry_versions.update().where(
                registry_versions.c.subject == subject, registry_versions.c.version == version).values(deleted=True))

    def remove_version(self, subject: str, version: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(registry_versions.delete().where(
                registry_versions.c.subject == subject, registry_versions.c.version == version))

    def subjects(self, *, include_deleted: bool = False) -> list[str]:
        query = select(registry_versions.c.subject).distinct()
        if not include_deleted:
            query = query.where(registry_versions.c.deleted.is_(False))
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(query))

    def versions_of(self, schema_id: int) -> list[VersionRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(registry_versions).where(registry_versions.c.schema_id == schema_id)
                                .order_by(registry_versions.c.subject, registry_versions.c.version))
            return [self._row(r) for r in rows]

    def config(self, subject: str | None) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(registry_config.c.compatibility).where(
                registry_config.c.subject == (subject or GLOBAL))).scalar_one_or_none()

    def set_config(self, subject: str | None, mode: str | None) -> None:
        with self.engine.begin() as conn:
            if mode is None:
                conn.execute(registry_config.delete().where(registry_config.c.subject == (subject or GLOBAL)))
            else:
                upsert(conn, registry_config, {"subject": subject or GLOBAL}, {"compatibility": mode})
