"""API keys of departments pushing records over HTTP, kept in the state store as SHA-256 hashes only.

The key itself is shown once, when it is created; afterwards only its hash, department and label remain.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from sqlalchemy import Row, select, update

from exchange.clock import now_ms
from exchange.errors import ConfigError
from exchange.registry.standards import load_avro_file
from exchange.state import StateStore
from exchange.state.tables import api_keys
from schemas import AVRO_DIR

DEPARTMENT_SCHEMA = "gov.exchange.common.Department"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One issued key, without its secret."""

    id: int
    department: str
    label: str | None
    created_at: int
    revoked_at: int | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@cache
def departments() -> tuple[str, ...]:
    """The Department enum symbols of the data standard."""
    return tuple(load_avro_file(AVRO_DIR / f"{DEPARTMENT_SCHEMA}.avsc")["symbols"])


def department_slug(symbol: str) -> str:
    """``CIVIL_AFFAIRS`` as it appears in a URL: ``civil-affairs``."""
    return symbol.lower().replace("_", "-")


def parse_department(text: str) -> str:
    """The Department symbol named by ``text`` (``civil-affairs`` or ``CIVIL_AFFAIRS``); ConfigError if none."""
    for symbol in departments():
        if text in (symbol, department_slug(symbol)):
            return symbol
    raise ConfigError(f"unknown department {text!r}; one of {', '.join(map(department_slug, departments()))}")


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(row.id, row.department, row.label, row.created_at, row.revoked_at)


def create_key(store: StateStore, department: str, label: str | None = None) -> tuple[ApiKey, str]:
    """A new key for ``department`` (a symbol or slug) and its secret, which is not stored anywhere."""
    symbol = parse_department(department)
    secret = secrets.token_urlsafe(32)
    created = now_ms()
    with store.transaction() as conn:
        result = conn.execute(api_keys.insert().values(
            department=symbol, key_hash=hash_key(secret), label=label, created_at=created, revoked_at=None))
        key_id = result.inserted_primary_key[0]
    return ApiKey(key_id, symbol, label, created, None), secret


def list_keys(store: StateStore) -> list[ApiKey]:
    """Every key ever issued, oldest first (revoked ones included)."""
    with store.engine.connect() as conn:
        return [_key(row) for row in conn.execute(select(api_keys).order_by(api_keys.c.id))]


def revoke_key(store: StateStore, key_id: int) -> ApiKey:
    """Revoke key ``key_id`` (idempotent: an already revoked key keeps its revocation time)."""
    with store.transaction() as conn:
        conn.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                     .values(revoked_at=now_ms()))
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise ConfigError(f"no API key with id {key_id}")
    return _key(row)


def find_key(store: StateStore, secret: str) -> ApiKey | None:
    """The key whose secret is ``secret`` (revoked or not), or None."""
    with store.engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_hash == hash_key(secret))).first()
    return None if row is None else _key(row)
