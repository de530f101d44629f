"""The compiled location engine (mypyc, docs/decisions/0016) gives exactly the pure engine's results.

The pure modules are loaded from their sources next to the compiled ones (``duress._native``'s
``SourceFinder``, the compiled modules set aside in ``sys.modules`` meanwhile), and both engines
replay the same simulated records, with bad input mixed in: every ``observe`` result, every
``expire`` result, the final locations, snapshot and rejection counts must be equal (floats
bit for bit: ``Location`` compares its fields with ``==``).

Skipped when the compiled engine is not active (no compiler, ``DURESS_PURE_PYTHON``, a source
changed since the build: ``make native``); under ``DURESS_REQUIRE_SERVICES=1`` (CI, after
``make`` built it) that is a failure instead, unless ``DURESS_PURE_PYTHON`` asked for it.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from tests.sim.site_fixtures import two_floor_site

from duress import _native
from duress.domain import location as active
from duress.domain.location_params import LocationParams
from duress.domain.observations import Sighting, SightingKind
from duress.domain.site import Site
from duress.sim.layout import build_hospital
from duress.sim.movement import MovementParams
from duress.sim.scenario import Received, Record, SimParams, simulate

pytestmark = pytest.mark.slow


def _compiled_or_skip() -> None:
    status = _native.status()
    if status["engine"] == "compiled":
        return
    reason = f"the compiled location engine is not active: {status['reason']}"
    if os.environ.get("DURESS_REQUIRE_SERVICES") == "1" and not _native.pure_requested(os.environ):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pure() -> ModuleType:
    """``duress.domain.location`` (and the other compiled modules it uses) from source."""
    _compiled_or_skip()
    assert not (active.__file__ or "").endswith(".py")
    module = _native.load_pure()
    assert (module.__file__ or "").endswith("location.py")
    assert module.LocationEngine is not active.LocationEngine
    assert sys.modules["duress.domain.location"] is active  # the compiled one is back
    area_index = sys.modules["duress.domain.area_index"]
    assert module.AreaIndex is not area_index.AreaIndex  # pure all through, not mixed
    return module


def _records(site: Site, minutes: float, seed: int, params: SimParams) -> list[Record]:
    return list(simulate(site, minutes=minutes, badges=8, seed=seed, params=params))


def _bad(site: Site, records: list[Record]) -> list[Record]:
    """The records with bad input mixed in: every reason the engine rejects for, and int RSSI."""
    received = [
        r for r in records if isinstance(r, Received) and isinstance(r.observation, Sighting)
    ]
    badge = sorted(site.badges)[0]
    ble = sorted(d.id for d in site.devices.values() if d.kind.is_ble and d.position is not None)
    out: list[Record] = []
    for i, record in enumerate(records):
        out.append(record)
        if not isinstance(record, Received) or i % 37:
            continue
        at = record.at
        s = received[i % len(received)].observation
        assert isinstance(s, Sighting)
        out += [
            Received(at, replace(s, badge="ghost")),
            Received(at, replace(s, device="nope")),
            Received(at, replace(s, ts=s.ts.replace(tzinfo=None))),
            Received(at, replace(s, ts=at + timedelta(seconds=30))),
            Received(at, replace(s, ts=at - timedelta(seconds=300))),
            Received(at, s),  # a duplicate
            Received(at, replace(s, ts=s.ts - timedelta(seconds=20))),
            Received(
                at,
                Sighting(ts=at, badge=badge, device=ble[i % len(ble)], kind=SightingKind.BLE),
            ),
            Received(
                at,
                Sighting(at, badge, ble[i % len(ble)], SightingKind.BLE, rssi=math.nan),
            ),
            Received(at, Sighting(at, badge, ble[i % len(ble)], SightingKind.BLE, rssi=5.0)),
            Received(at, Sighting(at, badge, ble[i % len(ble)], SightingKind.IR)),
            # an int where a float is declared (JSON decoders give ints): the same in both
            Received(at, Sighting(at, badge, ble[(i + 1) % len(ble)], SightingKind.BLE, rssi=-71)),
        ]
    return out


def _replay(module: ModuleType, site: Site, records: list[Record], params: LocationParams) -> Any:
    """Everything the engine says about the records, in order."""
    engine = module.LocationEngine(site, params)
    said: list[Any] = []
    last: datetime | None = None
    for record in records:
        if isinstance(record, Received):
            observation = record.observation
            if isinstance(observation, Sighting):
                said.append(engine.observe(observation, record.at))
                last = record.at
            continue
        said.append(engine.expire(record["ts"]))
    assert last is not None
    end = last + timedelta(seconds=5)
    said.append(list(engine.locations(end)))
    said.append(engine.snapshot(end + timedelta(minutes=20)))
    said.append([engine.locate(b, end) for b in sorted(site.badges)])
    said.append(engine.expire(end + timedelta(minutes=20)))
    said.append(engine.rejections.as_dict())
    return said


_ON_FLOOR = SimParams(movement=replace(MovementParams(), other_floor_share=0.0))
_LINGER = SimParams(
    movement=replace(MovementParams(), doorway_linger_prob=0.9, doorway_linger_s=(20.0, 60.0))
)
CASES = {
    # IR rooms with bays, BLE-only rooms, people changing floor (implausible moves)
    "two_floors": (lambda: build_hospital(floors=2, rooms_per_side=4, badges=8), SimParams()),
    "open_bays": (
        lambda: build_hospital(
            floors=1, rooms_per_side=4, badges=8, ble_only_every=0, bays_every=1
        ),
        _ON_FLOOR,
    ),
    "ble_only": (lambda: build_hospital(floors=1, rooms_per_side=4, badges=8, ir=False), _ON_FLOOR),
    "doorway": (lambda: build_hospital(floors=1, rooms_per_side=4, badges=8), _LINGER),
}
PARAMS = {
    "defaults": LocationParams(),
    "ablations": LocationParams(
        ir_one_hit_m=0.0,
        ble_walk_estimates=0,
        ir_bay_hold_s=0.0,
        ir_bay_enter_score=0.0,
        ble_crossing_carry=False,
        ir_reenter_needs_ble_cue=True,
        ble_top_k=2,
    ),
}


@pytest.mark.parametrize("params", PARAMS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_compiled_engine_says_exactly_what_the_pure_one_says(
    pure: ModuleType, case: str, params: str
) -> None:
    make_site, sim = CASES[case]
    site = make_site()
    records = _bad(site, _records(site, minutes=4.0, seed=11, params=sim))
    compiled = _replay(active, site, records, PARAMS[params])
    reference = _replay(pure, site, records, PARAMS[params])
    moves = [x for x in reference if x is not None and not isinstance(x, list | dict)]
    assert len(moves) > 20  # the replay exercises the engine
    assert sum(reference[-1].values()) > 100  # and its rejections
    assert compiled == reference


def test_compiled_engine_on_the_small_site_with_its_ble_only_room(pure: ModuleType) -> None:
    site = two_floor_site()
    records = _bad(site, list(simulate(site, minutes=4.0, seed=3)))
    params = LocationParams()
    assert _replay(active, site, records, params) == _replay(pure, site, records, params)
