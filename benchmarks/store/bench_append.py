"""Durable append: how long one press waits for the store; how many events a second batches reach.

For SQLite (a file in a temporary folder, so on whatever disk holds ``$TMPDIR``) and PostgreSQL
(a throwaway schema in ``DURESS_BENCH_POSTGRES_URL``, default the test server; skipped, and said
so, when unreachable). Every append is committed and fsynced before it returns, as in production.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from duress.domain.errors import StoreUnavailable
from duress.domain.events import NewEvent, Subject, SubjectKind
from duress.store.base import EventStore

SINGLE = 1000
BATCHES, BATCH_SIZE = 50, 100
POSTGRES_URL = os.environ.get(
    "DURESS_BENCH_POSTGRES_URL",
    os.environ.get("DURESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="duress-bench-") as folder:
        figures["store_sqlite"] = _measure(lambda: _sqlite(Path(folder) / "events.db"))
    try:
        figures["store_postgres"] = _measure(_postgres)
    except StoreUnavailable as exc:
        figures["store_postgres"] = {"skipped": f"PostgreSQL unreachable: {str(exc)[:120]}"}
    return figures


def _measure(opener: Callable[[], Any]) -> dict[str, Any]:
    with opener() as store:
        store.append([_press(0)])  # warm up: connection, prepared statements, file creation
        latencies = []
        for i in range(SINGLE):
            started = time.perf_counter()
            store.append([_press(i)])
            latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        for b in range(BATCHES):
            store.append([_press(b * BATCH_SIZE + j) for j in range(BATCH_SIZE)])
        batched = time.perf_counter() - started
        started = time.perf_counter()
        read = len(store.read())
        reading = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    return {
        "single_append_ms": {
            "p50": round(statistics.median(ms), 3),
            "p99": round(ms[int(len(ms) * 0.99) - 1], 3),
            "max": round(ms[-1], 3),
            "count": len(ms),
        },
        "batched": {
            "batch_size": BATCH_SIZE,
            "events_per_s": round(BATCHES * BATCH_SIZE / batched),
            "ms_per_batch": round(batched * 1000 / BATCHES, 3),
        },
        "read_all": {"events": read, "events_per_s": round(read / reading)},
    }


@contextmanager
def _sqlite(path: Path) -> Iterator[EventStore]:
    from duress.store.sqlite import SqliteStore

    with SqliteStore(path) as store:
        yield store


@contextmanager
def _postgres() -> Iterator[EventStore]:
    import psycopg

    from duress.store.postgres import PostgresStore

    schema = f"duress_bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=2)
    except psycopg.Error as exc:
        raise StoreUnavailable(str(exc)) from exc
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            sep = "&" if "?" in POSTGRES_URL else "?"
            with PostgresStore(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}") as store:
                yield store
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _press(i: int) -> NewEvent:
    return NewEvent(
        type="button.pressed",
        ts=datetime.now(UTC),
        subject=Subject(SubjectKind.BADGE, f"B-{i % 500:04d}"),
        payload={"badge": f"B-{i % 500:04d}", "seq": i, "presses": 2, "hold_s": 0.4},
    )
