"""The location engine in its own process: a real child process, the server's side of it."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest
from tests.sites import small_site

from duress.domain.errors import LocationUnavailable
from duress.domain.ingest_mapping import IngestMapping
from duress.domain.observations import ButtonEvent, Sighting, SightingKind
from duress.ingest.mqtt.lanes import Inbound
from duress.ingest.mqtt.remote_decoding import RemoteDecoding
from duress.ingest.mqtt.topics import Route
from duress.service import location_process
from duress.service.engine_locator import EngineLocator
from duress.service.runtime import Runtime
from duress.service.sighting_work import rows_of
from duress.service.worker_locator import WorkerLocator
from duress.testing import FakeClock, MemoryStore


def ir(clock: FakeClock, device: str = "ir-icu-1", badge: str = "b-1") -> Sighting:
    return Sighting(ts=clock.now(), badge=badge, device=device, kind=SightingKind.IR)


@pytest.fixture
async def worker():
    locator = WorkerLocator(small_site())
    await locator.start()
    yield locator
    await locator.stop()


async def test_places_come_back_from_the_process_and_age_as_in_the_server(worker) -> None:
    clock = FakeClock()
    here = EngineLocator(small_site())
    sightings = [(0, ir(clock)), (1, ir(clock, badge="b-2", device="ir-icu-2"))]
    report = await worker.take(sightings, clock.now())
    for _, s in sightings:
        here.observe(s, clock.now())
    assert report.located == 2
    assert {m.badge: m.area for m in report.moved} == {"b-1": "icu-1", "b-2": "icu-2"}
    later = clock.now() + timedelta(seconds=20)
    assert worker.where("b-1", later) == here.where("b-1", later)
    assert set(worker.snapshot(later)) == {"b-1", "b-2"}
    assert worker.where("nobody", later) is None


async def test_a_dead_process_is_started_again_and_answers_what_was_unanswered(worker) -> None:
    clock = FakeClock()
    await worker.take([(0, ir(clock))], clock.now())
    assert worker._process is not None
    pid = worker._process.pid
    os.kill(pid, signal.SIGSTOP)  # it takes nothing more: the next batch stays unanswered
    await clock.advance(2)
    pending = asyncio.ensure_future(
        worker.take([(0, ir(clock, badge="b-2", device="ir-icu-2"))], clock.now())
    )
    await asyncio.sleep(0.05)
    assert not pending.done()
    os.kill(pid, signal.SIGKILL)
    report = await asyncio.wait_for(pending, 60)
    assert report.located == 1
    assert worker.restarts == 1
    assert worker.running
    assert worker.where("b-2", clock.now())["room"] == "icu-2"


async def test_a_batch_sent_while_no_process_runs_is_refused_with_the_reason() -> None:
    locator = WorkerLocator(small_site())
    with pytest.raises(LocationUnavailable, match="not running"):
        await locator.take([(0, ir(FakeClock()))], FakeClock().now())


async def test_the_runtime_places_a_press_from_the_process_and_rejects_what_the_site_lacks() -> (
    None
):
    clock = FakeClock()
    store = MemoryStore()
    runtime = Runtime(
        site=small_site(),
        store=store,
        clock=clock,
        locator=WorkerLocator(small_site()),
        inline_store=True,
    )
    await runtime.start()
    try:
        outcome = await runtime.ingest(
            [(0, ir(clock)), (1, ir(clock, badge="stranger")), (2, ir(clock))]
        )
        assert outcome.accepted == 2
        assert [(r.index, r.reason) for r in outcome.rejected] == [(1, "unknown_badge")]
        assert [e.type for e in store.read(types=["badge.moved"])] == ["badge.moved"]
        assert runtime.health.state("ir-icu-1").last_seen == clock.now()
        await clock.advance(1)
        await runtime.ingest([(0, ButtonEvent(ts=clock.now(), badge="b-1", seq=1, presses=3))])
        [raised] = store.read(types=["alert.raised"])
        assert raised.payload["location"]["area"] == "icu-1"
    finally:
        await runtime.stop()
    assert not runtime.locator.running


def test_the_process_answers_each_batch_and_reports_a_failed_one() -> None:
    clock = FakeClock()
    source = io.BytesIO()
    location_process.write_frame(source, (small_site(), None, 1.0))
    location_process.write_frame(source, (1, clock.now().timestamp(), rows_of([(0, ir(clock))])))
    location_process.write_frame(source, (2, clock.now().timestamp(), [("not", "a row")]))
    location_process.write_frame(source, ("heartbeat", "ir-icu-1", clock.now()))  # not answered
    location_process.write_frame(source, (3, clock.now().timestamp(), []))
    source.seek(0)
    out = io.BytesIO()
    location_process.serve(source, out)
    out.seek(0)
    answers = []
    while (frame := location_process.read_frame(out)) is not None:
        answers.append(frame)
    assert answers[0] == ("ready",)
    assert answers[1][0] == 1
    assert answers[1][1].located == 1
    assert answers[2][0] == 2
    assert answers[2][1] is None
    assert "ValueError" in answers[2][2]
    assert answers[3][0] == 3
    assert answers[3][1].located == 0


async def test_readiness_says_when_no_process_takes_sightings() -> None:
    locator = WorkerLocator(small_site())
    with pytest.raises(OSError, match="not running"):
        await locator.probe()
    await locator.start()
    try:
        await locator.probe()
    finally:
        await locator.stop()


async def test_metrics_show_the_location_process_restarts_and_backlog() -> None:
    from duress.service.bootstrap import build_runtime

    runtime = build_runtime(small_site(), store=MemoryStore(), location_engine="process")
    await runtime.start()
    try:
        locator = runtime.locator
        assert isinstance(locator, WorkerLocator)
        text = generate_latest(runtime.metrics.registry).decode()
        assert "duress_location_process_restarts 0.0" in text
        assert "duress_location_batches_pending 0.0" in text
        locator.restarts = 2
        text = generate_latest(runtime.metrics.registry).decode()
        assert "duress_location_process_restarts 2.0" in text
    finally:
        await runtime.stop()


DIES_ON_EVERY_BATCH = """
import sys
from duress.service import location_process as lp
source, out = sys.stdin.buffer, sys.stdout.buffer
lp.read_frame(source)
lp.write_frame(out, ("ready",))
lp.read_frame(source)
sys.exit(3)
"""


async def test_a_batch_that_two_processes_die_on_is_dropped() -> None:
    locator = WorkerLocator(small_site(), command=[sys.executable, "-c", DIES_ON_EVERY_BATCH])
    await locator.start()
    try:
        clock = FakeClock()
        with pytest.raises(LocationUnavailable, match="died twice"):
            await asyncio.wait_for(locator.take([(0, ir(clock))], clock.now()), 60)
        assert locator.restarts == 2
    finally:
        await locator.stop()


class ScriptedFeed:
    """A sighting feed that, once started, has two messages waiting: a sighting and a bad one."""

    def __init__(self, clock: FakeClock) -> None:
        self.at = clock.now()
        self._waiting: list[Inbound] = []

    @property
    def decoding(self) -> RemoteDecoding:
        return RemoteDecoding(IngestMapping())

    def start(self, wake: Callable[[], None], on_state: Callable[[bool, str], None]) -> None:
        on_state(True, "subscribed")
        good = {
            "type": "sighting",
            "ts": self.at.isoformat(),
            "badge": "b-1",
            "device": "ir-icu-1",
            "kind": "ir",
        }
        self._waiting = [
            self._message(json.dumps([good]).encode()),
            self._message(b"{not json", topic="t/gw/gw-1/sightings"),
        ]
        wake()

    def _message(self, payload: bytes, topic: str = "t/s/gw/gw-1/sightings") -> Inbound:
        return Inbound(topic, payload, Route.SIGHTINGS, "gw-1", self.at)

    def take(self) -> tuple[list[Inbound], SimpleNamespace]:
        messages, self._waiting = self._waiting, []
        return messages, SimpleNamespace(dropped={}, topics={})

    def now(self) -> datetime:
        return self.at

    def stop(self) -> None:
        pass


def test_the_process_reports_what_its_own_feed_located_with_the_topics_it_names() -> None:
    clock = FakeClock()
    source_r, source_w = os.pipe()
    out_r, out_w = os.pipe()
    with open(source_r, "rb") as source, open(out_w, "wb") as out:
        server = threading.Thread(target=location_process.serve, args=(source, out))
        server.start()
        with open(source_w, "wb") as to_process, open(out_r, "rb") as from_process:
            location_process.write_frame(to_process, (small_site(), None, 1.0))
            assert location_process.read_frame(from_process) == ("ready",)
            location_process.write_frame(to_process, ("feed", ScriptedFeed(clock)))
            state = location_process.read_frame(from_process)
            kind, report, counts = location_process.read_frame(from_process)
        server.join(10)
    assert state == ("feed_state", True, "subscribed")
    assert kind == "feed"
    assert report.located == 1
    assert [(i, reason) for i, reason, _ in report.undecoded] == [(1, "not_json")]
    assert counts.topics == {1: "t/gw/gw-1/sightings"}
    assert report.places["b-1"].room == "icu-1"


@pytest.mark.parametrize(("priority", "policy"), [("idle", os.SCHED_IDLE), ("low", os.SCHED_OTHER)])
async def test_the_process_runs_below_the_server(priority: str, policy: int) -> None:
    """Idle scheduling class by default (it runs on CPU time nobody else wants), else nice +10."""
    locator = WorkerLocator(small_site(), priority=priority)
    await locator.start()
    try:
        assert locator._process is not None
        pid = locator._process.pid
        assert os.sched_getscheduler(pid) == policy
        assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 10
    finally:
        await locator.stop()
