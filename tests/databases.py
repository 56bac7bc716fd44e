"""Fresh PostgreSQL databases for tests (the server runs at 127.0.0.1:5432 on the test machines)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("EXCHANGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _admin(statement: str, admin_url: str = PG_ADMIN_URL) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def check_postgres(admin_url: str = PG_ADMIN_URL) -> str:
    """``admin_url`` once the server answers (raises, failing the test, when it does not)."""
    _admin("SELECT 1", admin_url)
    return admin_url


@contextmanager
def fresh_postgres_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    name = f"exchange_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"', admin_url)
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_url)
