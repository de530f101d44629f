"""Shared test setup: services that some tests need, and where the field's sample files live.

Tests marked ``postgres`` or ``mqtt`` need a real server on loopback. On a user's machine they skip when
it is absent; with ``DURESS_REQUIRE_SERVICES=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT.parent / "shared" / "vectors"
POSTGRES_URL = os.environ.get(
    "DURESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail, under DURESS_REQUIRE_SERVICES=1) unless ``host:port`` answers."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("DURESS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} and DURESS_REQUIRE_SERVICES=1: start it (see .ci/run)")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    require_service("Mosquitto", MQTT_HOST, MQTT_PORT)
    return MQTT_HOST, MQTT_PORT


@pytest.fixture
def vectors() -> Path:
    """The field's sample files in ../shared/vectors; tests using them skip when the folder is absent."""
    if not VECTORS.is_dir():
        pytest.skip(f"sample files not found at {VECTORS}")
    return VECTORS


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema: (its name, a store URL whose ``search_path`` is that schema),
    dropped afterwards, so tests never see each other's data or touch the ``public`` schema."""
    import psycopg

    name = f"duress_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield name, f"{postgres_url}{separator}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")
