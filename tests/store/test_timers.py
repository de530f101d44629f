"""Durable timers, on every backend: set and cleared with the events that decide them, claimed by one
owner at a time for a lease."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from tests.store.support import T0, Backend, event

from duress.store.base import EventStore, Timer
from duress.store.records import InvalidEvent


def test_a_timer_set_with_events_is_due_at_its_time(store: EventStore) -> None:
    store.append([event()], timers={"alert:a-1": T0 + timedelta(seconds=30)})
    assert store.next_due() == T0 + timedelta(seconds=30)
    assert store.claim_due(T0 + timedelta(seconds=29), owner="x", lease_s=10) == []
    claimed = store.claim_due(T0 + timedelta(seconds=30), owner="x", lease_s=10)
    assert claimed == [Timer("alert:a-1", T0 + timedelta(seconds=30))]


def test_a_claimed_timer_is_not_claimed_again_until_its_lease_ends(store: EventStore) -> None:
    store.append([], timers={"t": T0})
    assert [t.key for t in store.claim_due(T0, owner="a", lease_s=10)] == ["t"]
    assert store.claim_due(T0 + timedelta(seconds=5), owner="b", lease_s=10) == []
    assert [t.key for t in store.claim_due(T0 + timedelta(seconds=10), owner="b", lease_s=10)] == [
        "t"
    ]


def test_setting_again_moves_the_timer_and_ends_the_claim(store: EventStore) -> None:
    store.append([], timers={"t": T0})
    store.claim_due(T0, owner="a", lease_s=60)
    store.append([event()], timers={"t": T0 + timedelta(seconds=1)})
    assert [
        t.due_at for t in store.claim_due(T0 + timedelta(seconds=1), owner="b", lease_s=60)
    ] == [T0 + timedelta(seconds=1)]


def test_clearing_removes_the_timer(store: EventStore) -> None:
    store.append([], timers={"t": T0, "u": T0 + timedelta(seconds=3)})
    store.append([event()], timers={"t": None})
    assert store.next_due() == T0 + timedelta(seconds=3)
    store.append([], timers={"u": None, "never-set": None})
    assert store.next_due() is None
    assert store.claim_due(T0 + timedelta(hours=1), owner="a", lease_s=1) == []


def test_claims_come_earliest_first_and_respect_the_limit(store: EventStore) -> None:
    store.append([], timers={f"t{i}": T0 + timedelta(seconds=i) for i in (3, 1, 2)})
    claimed = store.claim_due(T0 + timedelta(seconds=10), owner="a", lease_s=5, limit=2)
    assert [t.key for t in claimed] == ["t1", "t2"]


def test_a_bad_timer_stores_nothing_of_the_batch(store: EventStore) -> None:
    before = store.last_seq()
    with pytest.raises(InvalidEvent, match="time zone"):
        store.append([event()], timers={"t": T0.replace(tzinfo=None)})
    assert store.last_seq() == before
    assert store.next_due() is None


def test_timers_survive_reopening(backend: Backend) -> None:
    if not backend.durable:
        pytest.skip("the memory store keeps nothing once closed")
    backend.open().append([event()], timers={"t": T0})
    assert backend.open().next_due() == T0


def test_two_owners_claiming_at_once_never_share_a_timer(backend: Backend) -> None:
    """The property two server instances rely on: each due timer goes to exactly one of them."""
    first, second = backend.open(), backend.open()
    first.append([], timers={f"t{i:03d}": T0 for i in range(200)})
    got: dict[str, list[str]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def claim(store: EventStore, owner: str) -> None:
        barrier.wait()
        while batch := store.claim_due(T0, owner=owner, lease_s=60, limit=7):
            got[owner] += [t.key for t in batch]

    threads = [
        threading.Thread(target=claim, args=(first, "a")),
        threading.Thread(target=claim, args=(second, "b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(got["a"] + got["b"]) == [f"t{i:03d}" for i in range(200)]
    assert not set(got["a"]) & set(got["b"])
