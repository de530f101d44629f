"""The demo: a simulated hospital driving a real server in real time.

Staff badges walk the example site (``duress.sim.scenario``) and their sightings and presses are fed to
the runtime as they "arrive"; fixed devices send heartbeats (one IR monitor stays silent, so
supervision has something to show); a WCTP gateway peer answers pages with Delivered, Read and Accept;
simulated responders who accepted arrive on scene and resolve the alert a little later.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import zlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from duress.channels.wctp import SubmitRequest
from duress.domain.alert import Action
from duress.domain.devices import DeviceKind
from duress.domain.errors import IllegalTransition
from duress.domain.observations import ButtonEvent, Heartbeat, Observation, Sighting
from duress.domain.people import Contact
from duress.domain.site import Site
from duress.service.runtime import Runtime
from duress.sim.peers.alert_manager import AlertManagerPeer
from duress.sim.peers.wctp_gateway import WctpGatewayPeer
from duress.sim.scenario import Received, SimParams, simulate

log = structlog.get_logger(__name__)

HEARTBEAT_EVERY_S = 30.0
BATCH_WINDOW_S = 0.1


def answers(request: SubmitRequest) -> str | None:
    """Who answers their pager in the demo: about one recipient in three accepts, the others never
    answer (so some alerts escalate to the next tier)."""
    return "Accept" if zlib.crc32(request.recipient_id.encode()) % 3 == 0 else None


def demo_channels(
    port: int, gateway_port: int, alert_manager_port: int | None = None
) -> Mapping[str, Any]:
    """The channels of the demo: pagers through the local WCTP gateway peer (replies to us), and
    the command centre's alert manager over HL7 (the local MLLP peer) when its port is given."""
    channels: dict[str, Any] = {
        "wctp": {
            "url": f"http://127.0.0.1:{gateway_port}/wctp",
            "sender_id": "duress-demo",
            "reply_url": f"http://127.0.0.1:{port}/wctp",
        },
        "delivery": {"default": {"timeout_s": 2, "failover_after_s": 2}},
    }
    if alert_manager_port is not None:
        channels["hl7_acm"] = {"host": "127.0.0.1", "port": alert_manager_port, "facility": "MERCY"}
    return channels


def demo_site(
    site: Site, port: int, gateway_port: int, alert_manager_port: int | None = None
) -> Site:
    """The site with the demo's channels (the example's own channels point at real systems); with
    an alert manager, the command centre is reached through it instead of overhead paging."""
    teams = dict(site.teams)
    if alert_manager_port is not None and "command-centre" in teams:
        desk = teams["command-centre"]
        contacts = tuple(c for c in desk.contacts if c.channel != "cap")
        teams["command-centre"] = replace(
            desk, contacts=(*contacts, Contact("hl7_acm", "command-centre"))
        )
    return replace(
        site, channels=demo_channels(port, gateway_port, alert_manager_port), teams=teams
    )


class DemoDriver:
    def __init__(
        self,
        runtime: Runtime,
        *,
        badges: int,
        seed: int,
        gateway: WctpGatewayPeer,
        alert_manager: AlertManagerPeer | None = None,
        presses_per_badge_hour: float = 1.0,
    ) -> None:
        self.runtime = runtime
        self.badges = badges
        self.seed = seed
        self.gateway = gateway
        self.alert_manager = alert_manager
        self.rng = random.Random(seed)
        self.params = SimParams(
            start=datetime.now(UTC),
            real_press_per_badge_hour=presses_per_badge_hour,
            accidental_press_per_badge_hour=presses_per_badge_hour / 3,
        )
        devices = sorted(self.runtime.site.devices.values(), key=lambda d: d.id)
        monitors = [d.id for d in devices if d.kind is DeviceKind.IR_MONITOR]
        self.broken = monitors[len(monitors) // 2] if monitors else None
        """One IR monitor that never reports: the board shows it silent after two intervals."""

    async def run(self) -> None:
        await self.gateway.start()
        if self.alert_manager is not None:
            await self.alert_manager.start()
        tasks = [
            asyncio.create_task(self._feed(), name="demo-feed"),
            asyncio.create_task(self._heartbeats(), name="demo-heartbeats"),
            asyncio.create_task(self._responders(), name="demo-responders"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.gateway.stop()
            if self.alert_manager is not None:
                await self.alert_manager.stop()

    async def _feed(self) -> None:
        clock = self.runtime.clock
        batch: list[Observation] = []
        batch_at: datetime | None = None
        site = self.runtime.site
        count = min(self.badges, sum(1 for b in site.badges.values() if b.kind.value == "staff"))
        for record in simulate(
            site, minutes=24 * 60, badges=count, seed=self.seed, params=self.params
        ):
            if not isinstance(record, Received) or isinstance(record.observation, Heartbeat):
                continue  # the demo's own heartbeats (one IR monitor silent) are sent apart
            if batch_at is not None and record.at - batch_at > timedelta(seconds=BATCH_WINDOW_S):
                await self._ingest(batch)
                batch, batch_at = [], None
            wait = (record.at - clock.now()).total_seconds()
            if wait > 0:
                if batch:
                    await self._ingest(batch)
                    batch, batch_at = [], None
                await clock.sleep(wait)
            observation = record.observation
            batch.append(_restamp(observation, record.at))
            batch_at = batch_at or record.at
        if batch:
            await self._ingest(batch)

    async def _ingest(self, batch: list[Observation]) -> None:
        outcome = await self.runtime.ingest(list(enumerate(batch)))
        for rejection in outcome.rejected:
            log.debug("demo.rejected", reason=rejection.reason, detail=rejection.detail)

    async def _heartbeats(self) -> None:
        clock = self.runtime.clock
        devices = [d for d in self.runtime.site.devices.values() if d.id != self.broken]
        while True:
            now = clock.now()
            beats: list[Observation] = [
                Heartbeat(ts=now, device=d.id, battery=round(self.rng.uniform(40, 100)))
                for d in devices
            ]
            await self.runtime.ingest(list(enumerate(beats)))
            await clock.sleep(HEARTBEAT_EVERY_S)

    async def _responders(self) -> None:
        """Whoever accepted walks over, then resolves: what the security desk would see."""
        pending: set[asyncio.Task[None]] = set()
        attended: set[str] = set()
        async for event in self.runtime.hub.listen():
            if event.type == "alert.accepted" and event.subject.id not in attended:
                attended.add(event.subject.id)
                task = asyncio.create_task(self._attend(event.subject.id, str(event.payload["by"])))
                pending.add(task)
                task.add_done_callback(pending.discard)

    async def _attend(self, alert_id: str, responder: str) -> None:
        clock = self.runtime.clock
        desk = self.runtime.alerts
        await clock.sleep(self.rng.uniform(15, 40))
        with contextlib.suppress(IllegalTransition):
            await desk.act(alert_id, Action.ARRIVE, by=responder, via="demo")
        await clock.sleep(self.rng.uniform(30, 90))
        code = self.rng.choices(["false_alarm", "accidental", "event"], weights=[5, 2, 3])[0]
        severity = self.rng.choice(["minor", "moderate"]) if code == "event" else None
        with contextlib.suppress(IllegalTransition):
            await desk.act(
                alert_id,
                Action.RESOLVE,
                by=responder,
                via="demo",
                code=code,
                severity=severity,
                note="simulated responder",
            )


def _restamp(observation: Observation, at: datetime) -> Observation:
    """The simulator's own clock starts when the demo starts; keep the measured time as is, but
    never ahead of the moment it is delivered."""
    if observation.ts <= at:
        return observation
    if isinstance(observation, Sighting | ButtonEvent | Heartbeat):
        return replace(observation, ts=at)
    return observation
