"""The demo's simulated hospital drives a real runtime: badges get located, devices report, presses
raise alerts, and the one broken monitor goes silent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from duress.config.loader import load_site
from duress.service.bootstrap import build_runtime
from duress.sim.demo import DemoDriver, demo_site
from duress.sim.peers.wctp_gateway import WctpGatewayPeer
from duress.testing import FakeClock, MemoryStore, RecordingNotifier

SITE = Path(__file__).resolve().parents[2] / "examples" / "mercy-general"


async def test_the_demo_hospital_feeds_the_runtime() -> None:
    clock = FakeClock()
    site = demo_site(load_site(SITE), port=8000, gateway_port=1)
    runtime = build_runtime(
        site,
        store=MemoryStore(),
        clock=clock,
        inline_store=True,
        notifiers=[RecordingNotifier("wctp"), RecordingNotifier("dashboard")],
    )
    await runtime.start()
    driver = DemoDriver(
        runtime, badges=20, seed=3, gateway=WctpGatewayPeer(), presses_per_badge_hour=60
    )
    driver.params = type(driver.params)(start=clock.now(), real_press_per_badge_hour=60)
    tasks = [asyncio.create_task(driver._feed()), asyncio.create_task(driver._heartbeats())]
    try:
        for _ in range(4 * 60):  # four simulated minutes, a second at a time
            await clock.advance(1)
        located = runtime.locator.snapshot(clock.now())
        assert len(located) >= 15
        assert runtime.alerts.alerts, "a busy demo raises alerts within minutes"
        states = {s.device: s.status.value for s in runtime.health.states()}
        assert states[driver.broken] != "online"
        assert sum(1 for v in states.values() if v == "online") > 300  # heartbeats every 30 s
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runtime.stop()
