from __future__ import annotations

import gc
import sys

from duress.cli.server import GIL_SWITCH_INTERVAL_S, run_server_loop, settle_the_heap


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
