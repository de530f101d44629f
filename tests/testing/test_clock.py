import asyncio
from datetime import datetime, timedelta

import pytest

from duress.testing import FakeClock


async def test_sleepers_wake_in_order_as_time_moves() -> None:
    clock = FakeClock()
    start = clock.now()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("late", 30)), asyncio.create_task(sleeper("early", 10))]
    await asyncio.sleep(0)
    assert clock.sleepers == 2
    await clock.advance(15)
    assert woke == ["early"]
    assert clock.now() == start + timedelta(seconds=15)
    await clock.advance(15)
    assert woke == ["early", "late"]
    await asyncio.gather(*tasks)


def test_a_naive_start_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(datetime(2026, 1, 1))
