"""Backends for the store tests: each test gets an empty store of its own.

PostgreSQL tests each get a fresh schema (``search_path`` set through the URL), dropped afterwards,
so they never see each other's events or touch the ``public`` schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from tests.store.support import Backend

from duress.store.base import EventStore


@pytest.fixture
def pg_admin(postgres_url: str, pg_schema: tuple[str, str]) -> Iterator[psycopg.Connection]:
    """A plain autocommit connection to the test's schema, to look behind a store's back."""
    with psycopg.connect(pg_schema[1], autocommit=True) as conn:
        yield conn


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        made = Backend("memory", "memory://", durable=False)
    elif request.param == "sqlite":
        made = Backend("sqlite", f"sqlite:///{tmp_path / 'data' / 'events.db'}", durable=True)
    else:
        _, url = request.getfixturevalue("pg_schema")
        made = Backend("postgres", url, durable=True)
    try:
        yield made
    finally:
        made.close_all()


@pytest.fixture
def store(backend: Backend) -> EventStore:
    return backend.open()
