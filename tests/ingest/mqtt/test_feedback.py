"""Badge feedback over the real broker: a press ingested over MQTT is answered on the feedback topic
of the gateway that carried it (``sent``, ``received``), an accept with ``responder_coming``."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt
import pytest
from tests.ingest.mqtt.conftest import dumps, press
from tests.sites import routed_site

from duress.domain.alert import Action
from duress.ingest.mqtt import MqttIngest
from duress.ingest.mqtt.feedback import FeedbackPublisher, feedback_payload
from duress.service.bootstrap import build_runtime
from duress.service.runtime import Runtime
from duress.testing import FakeClock, MemoryStore, RecordingNotifier

pytestmark = pytest.mark.mqtt


@pytest.fixture
async def hospital(clock: FakeClock) -> AsyncIterator[Runtime]:
    ids = itertools.count(1)
    runtime = build_runtime(
        routed_site(),
        store=MemoryStore(),
        clock=clock,
        notifiers=[RecordingNotifier(c) for c in ("wctp", "sms", "email", "dashboard")],
        new_alert_id=lambda: f"a-{next(ids)}",
        inline_store=True,
    )
    await runtime.start()
    yield runtime
    await runtime.stop()


@contextlib.asynccontextmanager
async def running(*services: MqttIngest | FeedbackPublisher) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        for s in services:
            await asyncio.wait_for(s.connected.wait(), 10)
        yield
    finally:
        for s in services:
            s.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def next_feedback(messages: AsyncIterator[aiomqtt.Message]) -> dict[str, Any]:
    message = await asyncio.wait_for(anext(messages), 10)
    assert isinstance(message.payload, bytes)
    decoded: dict[str, Any] = json.loads(message.payload)
    return decoded


async def test_a_press_and_an_accept_are_signalled_to_the_badge_through_its_gateway(
    hospital: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    host, port = mqtt_broker
    url = f"mqtt://{host}:{port}"
    ingest = MqttIngest(hospital, url=url, prefix="duress-test", site_id=site_id)
    feedback = FeedbackPublisher(hospital, url=url, prefix="duress-test", site_id=site_id)
    root = f"duress-test/{site_id}/gw/gw-1"
    assert feedback.topic("gw-1") == f"{root}/feedback"
    async with (
        running(ingest, feedback),
        aiomqtt.Client(host, port, identifier=f"gw-{uuid.uuid4().hex[:8]}") as gw,
    ):
        await gw.subscribe(f"{root}/feedback", qos=1)
        messages = aiter(gw.messages)
        await gw.publish(f"{root}/buttons", dumps(press(clock.now(), 1, badge="b-1")), qos=1)
        sent = await next_feedback(messages)
        received = await next_feedback(messages)
        assert sent == {"badge": "b-1", "signal": "sent", "alert": None, "ts": sent["ts"]}
        assert received["signal"] == "received"
        assert received["alert"] == "a-1"
        await hospital.alerts.act("a-1", Action.ACCEPT, by="s-1")
        coming = await next_feedback(messages)
        assert (coming["badge"], coming["signal"], coming["alert"]) == (
            "b-1",
            "responder_coming",
            "a-1",
        )
    published = {
        s.labels["signal"]: s.value
        for m in hospital.metrics.registry.collect()
        if m.name == "duress_feedback"
        for s in m.samples
        if s.name.endswith("_total") and s.labels["result"] == "published"
    }
    assert published == {"sent": 1, "received": 1, "responder_coming": 1}


async def test_a_badge_never_heard_through_a_gateway_gets_no_feedback_but_is_counted(
    hospital: Runtime, clock: FakeClock, mqtt_broker: tuple[str, int], site_id: str
) -> None:
    from duress.domain.observations import ButtonEvent

    host, port = mqtt_broker
    feedback = FeedbackPublisher(
        hospital, url=f"mqtt://{host}:{port}", prefix="duress-test", site_id=site_id
    )
    async with running(feedback):
        # over HTTP, without a gateway: nobody to address the feedback to
        await hospital.ingest([(0, ButtonEvent(ts=clock.now(), badge="b-2", seq=1, presses=3))])
        await clock.advance(0)  # let the publisher take the committed events
        metric = feedback.metrics.feedback.labels("sent", "no_gateway")
        assert metric._value.get() == 1
    assert feedback.published == 0


def test_the_payload_is_compact_json_with_the_event_time() -> None:
    from datetime import UTC, datetime

    from duress.domain.events import StoredEvent, Subject, SubjectKind

    record = StoredEvent(
        seq=1,
        type="badge.signalled",
        ts=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        subject=Subject(SubjectKind.BADGE, "b-1"),
        payload={"badge": "b-1", "signal": "undelivered", "alert": "a-9"},
    )
    assert feedback_payload(record) == (
        b'{"badge":"b-1","signal":"undelivered","alert":"a-9","ts":"2026-01-05T08:00:00+00:00"}'
    )
