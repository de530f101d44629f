"""Property: arbitrary sighting sequences never crash the engine and never invent a location."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sim.site_fixtures import T0, two_floor_site

from duress.domain.location import LocationEngine
from duress.domain.observations import Sighting, SightingKind
from duress.domain.precision import Precision

SITE = two_floor_site()
KNOWN_BADGES = sorted(SITE.badges)
BADGES = [*KNOWN_BADGES, "ghost", ""]
DEVICES = [*sorted(SITE.devices), "nope", ""]

rssi = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-110, max_value=-30),
)
zone = st.sampled_from([UTC, timezone(timedelta(hours=-5)), None])
sighting = st.builds(
    lambda badge, device, kind, rssi, offset, tz, lag: (
        Sighting(
            ts=(T0 + timedelta(seconds=offset)).astimezone(tz).replace(tzinfo=tz)
            if tz is not None
            else (T0 + timedelta(seconds=offset)).replace(tzinfo=None),
            badge=badge,
            device=device,
            kind=kind,
            rssi=rssi,
        ),
        lag,
    ),
    st.sampled_from(BADGES),
    st.sampled_from(DEVICES),
    st.sampled_from(list(SightingKind)),
    rssi,
    st.one_of(
        st.floats(min_value=-10, max_value=70, allow_nan=False),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    ),
    zone,
    st.floats(min_value=-5, max_value=60, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(sighting, max_size=60))
def test_arbitrary_sightings_never_raise_nor_invent(items: list[tuple[Sighting, float]]) -> None:
    engine = LocationEngine(SITE)
    areas = SITE.facility.areas
    for s, lag in items:
        now = T0 + timedelta(seconds=lag)
        loc = engine.observe(s, now)
        if loc is not None:
            assert loc.badge in SITE.badges
            assert loc.precision is not Precision.UNKNOWN
            for area in (loc.room, loc.bay, loc.zone):
                assert area is None or area in areas
            assert 0.0 <= loc.confidence <= 1.0
    now = T0 + timedelta(seconds=30)
    for loc in engine.locations(now):
        assert loc.badge in SITE.badges
    for badge in ("ghost", ""):
        assert engine.locate(badge, now).precision is Precision.UNKNOWN
    for loc in engine.expire(T0 + timedelta(hours=1)):
        assert loc.precision is Precision.UNKNOWN
        assert loc.badge in SITE.badges
