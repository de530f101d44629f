from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

import pytest
from tests.sites import small_site

from duress.cli.server import (
    GIL_SWITCH_INTERVAL_S,
    keep_the_wal_short,
    run_server_loop,
    serve_with_companions,
    settle_the_heap,
)
from duress.service.bootstrap import build_runtime
from duress.store.sqlite import AUTO_CHECKPOINT_PAGES, BACKSTOP_CHECKPOINT_PAGES, SqliteStore
from duress.testing import FakeClock, MemoryStore


def test_settling_the_heap_hides_what_is_alive_from_the_collector() -> None:
    alive = [object() for _ in range(100)]
    try:
        settle_the_heap()
        assert gc.get_freeze_count() >= len(alive)
    finally:
        gc.unfreeze()


def test_the_server_loop_runs_with_the_short_switch_interval() -> None:
    seen: list[float] = []

    async def main() -> None:
        seen.append(sys.getswitchinterval())

    before = sys.getswitchinterval()
    try:
        run_server_loop(main())
    finally:
        sys.setswitchinterval(before)
    assert seen == [GIL_SWITCH_INTERVAL_S]


async def test_a_server_on_an_sqlite_file_takes_checkpoints_out_of_the_commits(
    tmp_path: Path,
) -> None:
    store, clock = SqliteStore(tmp_path / "events.db"), FakeClock()
    runtime = build_runtime(small_site(), store=store, clock=clock)
    await runtime.start()
    try:
        checkpoints = keep_the_wal_short(runtime)
        assert checkpoints is not None
        assert store.pragma("wal_autocheckpoint") == BACKSTOP_CHECKPOINT_PAGES
        await clock.advance(checkpoints.every_s)
        for _ in range(100):  # the checkpoint runs in a thread of its own
            if checkpoints.checkpoints:
                break
            await asyncio.sleep(0.01)
        assert checkpoints.checkpoints == 1
        checkpoints.stop()
        assert store.pragma("wal_autocheckpoint") == AUTO_CHECKPOINT_PAGES
    finally:
        await runtime.stop()


async def test_a_server_on_another_store_leaves_checkpoints_alone() -> None:
    runtime = build_runtime(small_site(), store=MemoryStore(), clock=FakeClock())
    assert keep_the_wal_short(runtime) is None
    memory = build_runtime(small_site(), store=SqliteStore(":memory:"), clock=FakeClock())
    assert keep_the_wal_short(memory) is None


async def test_companions_stop_before_the_runtime_when_the_server_exits() -> None:
    runtime = build_runtime(small_site(), store=MemoryStore(), clock=FakeClock())
    await runtime.start()
    exit_server = asyncio.Event()
    seen: list[str] = []

    async def serving() -> None:  # the HTTP server until Ctrl-C
        await exit_server.wait()

    async def companion() -> None:  # a demo hospital or an MQTT loop, feeding the runtime
        seen.append("companion started")
        try:
            await asyncio.Event().wait()
        finally:
            seen.append(f"companion stopped, runtime running: {runtime.started}")

    served = asyncio.create_task(
        serve_with_companions(runtime, serving(), lambda: True, [companion])
    )
    while not seen:
        await asyncio.sleep(0.01)
    exit_server.set()
    await served
    assert seen == ["companion started", "companion stopped, runtime running: True"]
    assert not runtime.started  # and then the runtime stopped


async def test_the_runtime_stops_when_the_server_cannot_start() -> None:
    runtime = build_runtime(small_site(), store=MemoryStore(), clock=FakeClock())
    await runtime.start()

    async def serving() -> None:  # the port is taken, say
        raise OSError("address already in use")

    with pytest.raises(OSError, match="already in use"):
        await serve_with_companions(runtime, serving(), lambda: False, [])
    assert not runtime.started
