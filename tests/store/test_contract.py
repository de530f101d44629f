"""The event store contract, run against every backend: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from tests.store.support import T0, Backend, event

from duress.domain.errors import StoreUnavailable
from duress.domain.events import NewEvent, Subject, SubjectKind
from duress.store import InvalidEvent
from duress.store.base import EventStore


def test_a_new_store_is_empty(store: EventStore) -> None:
    assert store.last_seq() == 0
    assert store.read() == []


def test_append_returns_increasing_seqs(store: EventStore) -> None:
    first = store.append([event(at=0), event(at=1), event(at=2)])
    second = store.append([event(at=3)])

    assert [e.seq for e in first] == [1, 2, 3]
    assert [e.seq for e in second] == [4]
    assert store.last_seq() == 4


def test_append_returns_what_read_returns(store: EventStore) -> None:
    appended = store.append([event("a", at=0), event("b", badge="B-002", at=1)])

    assert store.read() == appended
    assert [(e.type, e.subject.id) for e in appended] == [("a", "B-001"), ("b", "B-002")]


def test_an_empty_batch_stores_nothing(store: EventStore) -> None:
    assert store.append([]) == []
    assert store.last_seq() == 0


def test_read_after_and_limit(store: EventStore) -> None:
    store.append([event(at=i) for i in range(10)])

    assert [e.seq for e in store.read(after=7)] == [8, 9, 10]
    assert [e.seq for e in store.read(after=2, limit=3)] == [3, 4, 5]
    assert store.read(after=10) == []
    assert store.read(limit=0) == []
    assert [e.seq for e in store.read(after=-5, limit=1)] == [1]


def test_read_refuses_a_negative_limit(store: EventStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.read(limit=-1)


def test_read_by_subject(store: EventStore) -> None:
    store.append(
        [
            event(badge="B-001", at=0),
            event(badge="B-002", at=1),
            event("alert.raised", badge="B-001", kind=SubjectKind.ALERT, at=2),
            event(badge="B-001", at=3),
        ]
    )

    badge = store.read(subject=Subject(SubjectKind.BADGE, "B-001"))
    alert = store.read(subject=Subject(SubjectKind.ALERT, "B-001"))

    assert [e.seq for e in badge] == [1, 4]
    assert [e.seq for e in alert] == [3]
    assert store.read(subject=Subject(SubjectKind.BADGE, "B-001"), after=1) == badge[1:]
    assert store.read(subject=Subject(SubjectKind.DEVICE, "B-001")) == []


def test_read_by_types(store: EventStore) -> None:
    store.append(
        [
            event("button.pressed", at=0),
            event("badge.moved", at=1),
            event("device.silent", badge="G-1", kind=SubjectKind.DEVICE, at=2),
            event("badge.moved", badge="B-002", at=3),
        ]
    )

    assert [e.seq for e in store.read(types={"badge.moved"})] == [2, 4]
    assert [e.seq for e in store.read(types=["badge.moved", "device.silent"])] == [2, 3, 4]
    assert [e.seq for e in store.read(types=("badge.moved",), limit=1)] == [2]
    assert store.read(types=()) == []
    assert store.read(types=["nothing.like.this"]) == []
    both = store.read(types={"badge.moved"}, subject=Subject(SubjectKind.BADGE, "B-002"))
    assert [e.seq for e in both] == [4]


def test_payload_round_trip(store: EventStore) -> None:
    payload = {
        "text": "Zimmer 3.12 — Notaufnahme ☎ 急诊 مستشفى 🚨",
        "ints": [0, -1, 2**53, 2**62],
        "floats": [0.1, -2.5, 1e-7, 123456.789, 3.141592653589793],
        "flags": [True, False, None],
        "nested": {"a": {"b": {"c": [1, {"d": "e"}]}}, "empty": {}, "none": []},
        'quote"and\\backslash': "line\nbreak\ttab",
        "": "empty key",
    }

    (appended,) = store.append([event(payload=payload)])
    (read,) = store.read()

    assert appended.payload == payload
    assert read.payload == payload
    assert [type(x) for x in read.payload["floats"]] == [float] * 5


def test_tuples_come_back_as_lists(store: EventStore) -> None:
    store.append([event(payload={"pair": (1, 2)})])

    assert store.read()[0].payload == {"pair": [1, 2]}


def test_timestamps_round_trip_as_aware_utc(store: EventStore) -> None:
    cest = timezone(timedelta(hours=2))
    times = [
        datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=cest),
        datetime(2026, 1, 5, 8, 0, 0, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    ]
    store.append([NewEvent("t", ts, Subject(SubjectKind.SITE, "s"), {}) for ts in times])

    read = [e.ts for e in store.read()]

    assert read == times
    assert all(ts.utcoffset() == timedelta(0) for ts in read)
    assert read[0] == datetime(2026, 7, 1, 8, 0, 0, 123456, tzinfo=UTC)


WARD = Subject("ward", "s")  # type: ignore[arg-type]  # an unknown kind, on purpose
INT_KEY: dict[str, int] = {1: 2}  # type: ignore[dict-item]  # a key that is not a string, on purpose


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (NewEvent("t", datetime(2026, 1, 5, 8, 0), Subject(SubjectKind.SITE, "s"), {}), "timezone"),
        (NewEvent("", T0, Subject(SubjectKind.SITE, "s"), {}), "type"),
        (NewEvent("t", T0, WARD, {}), "subject kind"),
        (event(payload={"when": T0}), r"payload\.when is a datetime"),
        (event(payload={"x": {1, 2}}), r"payload\.x is a set"),
        (event(payload={"x": [1, float("nan")]}), r"payload\.x\[1\] is nan"),
        (event(payload={"x": float("inf")}), "inf"),
        (event(payload=INT_KEY), "not a string"),
        (event(payload={"x": "a\x00b"}), "NUL"),
        (event(badge="B\x00"), "NUL"),
    ],
)
def test_an_event_that_cannot_be_stored_is_refused(
    store: EventStore, bad: NewEvent, message: str
) -> None:
    with pytest.raises(InvalidEvent, match=message):
        store.append([bad])
    assert store.last_seq() == 0


def test_a_batch_with_one_bad_event_stores_nothing(store: EventStore) -> None:
    store.append([event(at=0)])

    with pytest.raises(InvalidEvent, match=r"event 2 of 3 \(type 'bad'\)"):
        store.append([event(at=1), event("bad", payload={"x": object()}), event(at=2)])

    assert store.last_seq() == 1
    assert [e.seq for e in store.read()] == [1]
    assert [e.seq for e in store.append([event(at=3)])] == [2]


def test_last_seq(store: EventStore) -> None:
    store.append([event(at=0), event(at=1)])
    assert store.last_seq() == 2
    store.append([event(at=2)])
    assert store.last_seq() == 3


def test_reopening_keeps_events(backend: Backend) -> None:
    if not backend.durable:
        pytest.skip(f"the {backend.name} store keeps nothing once closed")
    first = backend.open()
    appended = first.append([event(at=0, payload={"k": "v"}), event(at=1)])
    first.close()

    again = backend.open()

    assert again.read() == appended
    assert [e.seq for e in again.append([event(at=2)])] == [3]


def test_opening_twice_migrates_once_and_both_work(backend: Backend) -> None:
    if not backend.durable:
        pytest.skip(f"each {backend.name} store is separate")
    one = backend.open()
    two = backend.open()
    one.append([event(at=0)])
    two.append([event(at=1)])

    assert [e.seq for e in one.read()] == [1, 2]
    assert two.read() == one.read()


def test_concurrent_appends_get_unique_gap_free_seqs(store: EventStore) -> None:
    threads, rounds = 8, 20
    start = threading.Barrier(threads)
    results: dict[int, list[list[int]]] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            start.wait()
            mine = results.setdefault(worker, [])
            for i in range(rounds):
                batch = [
                    event(badge=f"W{worker}", at=i, payload={"w": worker, "i": i, "j": j})
                    for j in range(1 + i % 3)
                ]
                mine.append([e.seq for e in store.append(batch)])
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()

    assert errors == []
    total = threads * sum(1 + i % 3 for i in range(rounds))
    every = sorted(seq for batches in results.values() for batch in batches for seq in batch)
    assert every == list(range(1, total + 1))
    for batches in results.values():
        for batch in batches:
            assert batch == list(range(batch[0], batch[0] + len(batch)))  # a batch is contiguous
        firsts = [b[0] for b in batches]
        assert firsts == sorted(firsts)
    events = store.read()
    assert [e.seq for e in events] == every
    for worker in range(threads):
        mine = [(e.payload["i"], e.payload["j"]) for e in events if e.payload["w"] == worker]
        assert mine == sorted(mine)
    assert store.last_seq() == total


def test_ping_answers_while_open(store: EventStore) -> None:
    store.ping()


def test_a_closed_store_is_unavailable(store: EventStore) -> None:
    store.close()
    store.close()  # closing twice is harmless

    for call in (store.ping, store.last_seq, store.read, lambda: store.append([event()])):
        with pytest.raises(StoreUnavailable, match="closed"):
            call()


def test_url_is_kept(backend: Backend, store: EventStore) -> None:
    assert store.url == backend.url
