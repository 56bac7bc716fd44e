"""Where the registry keeps schemas, subject versions and compatibility settings.

Two implementations: in memory (tests, one-off tools) and SQL (``SqlRegistryStore``, shared by every
process through the state store). Schema ids are content-derived, so stores never allocate ids.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class VersionRow:
    subject: str
    version: int
    schema_id: int
    deleted: bool = False


class RegistryStore(ABC):
    """Persistence of the registry. ``subject=None`` in config calls means the global setting."""

    @abstractmethod
    def put_schema(self, schema_id: int, text: str) -> None:
        """Store ``text`` under ``schema_id`` (idempotent)."""

    @abstractmethod
    def schema_text(self, schema_id: int) -> str | None: ...

    @abstractmethod
    def versions(self, subject: str, *, include_deleted: bool = False) -> list[VersionRow]:
        """The subject's versions, oldest first."""

    @abstractmethod
    def add_version(self, subject: str, schema_id: int) -> VersionRow:
        """Append ``schema_id`` as the subject's next version (unless a live version already holds it)."""

    @abstractmethod
    def set_deleted(self, subject: str, version: int) -> None: ...

    @abstractmethod
    def remove_version(self, subject: str, version: int) -> None:
        """Forget a (soft-deleted) version for good."""

    @abstractmethod
    def subjects(self, *, include_deleted: bool = False) -> list[str]: ...

    @abstractmethod
    def versions_of(self, schema_id: int) -> list[VersionRow]:
        """Every subject version that holds ``schema_id``."""

    @abstractmethod
    def config(self, subject: str | None) -> str | None: ...

    @abstractmethod
    def set_config(self, subject: str | None, mode: str | None) -> None:
        """Set (or with None, clear) the compatibility mode of ``subject`` or the global one."""


class MemoryRegistryStore(RegistryStore):
    """A registry store in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._schemas: dict[int, str] = {}
        self._versions: dict[str, list[VersionRow]] = {}
        self._config: dict[str | None, str] = {}

    def put_schema(self, schema_id: int, text: str) -> None:
        self._schemas.setdefault(schema_id, text)

    def schema_text(self, schema_id: int) -> str | None:
        return self._schemas.get(schema_id)

    def versions(self, subject: str, *, include_deleted: bool = False) -> list[VersionRow]:
        return [v for v in self._versions.get(subject, []) if include_deleted or not v.deleted]

    def add_version(self, subject: str, schema_id: int) -> VersionRow:
        with self._lock:
            rows = self._versions.setdefault(subject, [])
            for row in rows:
                if row.schema_id == schema_id and not row.deleted:
                    return row
            row = VersionRow(subject, max((r.version for r in rows), default=0) + 1, schema_id)
            rows.append(row)
            return row

    def set_deleted(self, subject: str, version: int) -> None:
        rows = self._versions.get(subject, [])
        self._versions[subject] = [replace(r, deleted=True) if r.version == version else r for r in rows]

    def remove_version(self, subject: str, version: int) -> None:
        self._versions[subject] = [r for r in self._versions.get(subject, []) if r.version != version]

    def subjects(self, *, include_deleted: bool = False) -> list[str]:
        return sorted(s for s in self._versions if self.versions(s, include_deleted=include_deleted))

    def versions_of(self, schema_id: int) -> list[VersionRow]:
        return [r for rows in self._versions.values() for r in rows if r.schema_id == schema_id]

    def config(self, subject: str | None) -> str | None:
        return self._config.get(subject)

    def set_config(self, subject: str | None, mode: str | None) -> None:
        if mode is None:
            self._config.pop(subject, None)
        else:
            self._config[subject] = mode
