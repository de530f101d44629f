"""Alerts reported by other systems over HL7 (a nurse-call duress button, another RTLS): raised,
followed and ended through the same desk, from the real MLLP listener."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.sites import routed_site

from duress.channels.hl7_source_mapping import ExternalPress, SourceAction
from duress.channels.mllp import frame
from duress.domain.alert import AlertState
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.testing import FakeClock, MemoryStore, RecordingNotifier

ids = itertools.count(1)


def external(
    action: SourceAction, *, area: str | None = "icu-1", priority: int = 1
) -> ExternalPress:
    return ExternalPress(
        action=action,
        source_key="hl7:NURSECALL:call-77",
        source="NURSECALL",
        identifier="call-77",
        kind="security",
        priority=priority,
        mode="real",
        unit="icu",
        location={
            "unit": "icu",
            "room": area,
            "area": area,
            "precision": "room" if area else "unknown",
        },
        mapped=area is not None,
        text="staff emergency button",
        event="DURESS_SECURITY",
        received_at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
    )


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = build_runtime(
        routed_site(),
        store=MemoryStore(),
        clock=FakeClock(),
        inline_store=True,
        notifiers=[RecordingNotifier(c) for c in ("wctp", "sms", "email", "dashboard")],
        new_alert_id=lambda: f"a-{next(ids)}",
    )
    await rt.start()
    yield rt
    await rt.stop()


async def test_an_external_alert_is_raised_followed_and_ended(runtime: Runtime) -> None:
    await runtime.alerts.take_external(external(SourceAction.RAISE))
    [alert] = runtime.alerts.open_alerts()
    assert (alert.kind, alert.unit, alert.badge, alert.staff) == (
        "security",
        "icu",
        "hl7:NURSECALL:call-77",
        None,
    )
    assert alert.state is AlertState.NOTIFIED  # routed by the ICU policy like any ICU alert
    await runtime.alerts.take_external(external(SourceAction.RAISE))  # a resend: the same alert
    await runtime.alerts.take_external(external(SourceAction.UPDATE, area="icu-2"))
    [alert] = runtime.alerts.open_alerts()
    assert alert.location["area"] == "icu-2"
    await runtime.alerts.take_external(external(SourceAction.END))
    assert runtime.alerts.open_alerts() == []
    [cancelled] = runtime.store.read(types=["alert.cancelled"])
    assert cancelled.payload["by"] == "hl7:NURSECALL"
    assert "ended at the source" in cancelled.payload["reason"]


async def test_an_update_for_an_unknown_alert_raises_it(runtime: Runtime) -> None:
    await runtime.alerts.take_external(external(SourceAction.UPDATE))
    assert len(runtime.alerts.open_alerts()) == 1


async def test_the_mllp_listener_feeds_the_desk(vectors: Path) -> None:
    message = (vectors / "hl7-acm" / "draeger-PCD04_alarm.txt").read_bytes()
    site = replace(
        routed_site(), channels={"hl7_source": {"port": _free_port(), "default_kind": "assist"}}
    )
    rt = build_runtime(
        site,
        store=MemoryStore(),
        clock=FakeClock(),
        inline_store=True,
        notifiers=[RecordingNotifier(c) for c in ("wctp", "sms", "email", "dashboard")],
    )
    await rt.start()
    try:
        port = site.channels["hl7_source"]["port"]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(message))
        await writer.drain()
        ack = await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 5)
        writer.close()
        await writer.wait_closed()
        assert b"MSA|AA" in ack or b"MSA|CA" in ack
        [alert] = rt.alerts.open_alerts()
        assert alert.badge.startswith("hl7:")
        assert alert.kind == "assist"
    finally:
        await rt.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
