from datetime import UTC, datetime

from tests.sites import routed_site

from duress.domain.recipients import AlertPlace, Position, position_of_area, resolve_tier
from duress.domain.routing import Target, TargetKind, Tier

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def tier(*targets: Target) -> Tier:
    return Tier(targets, 30.0)


def test_roles_are_resolved_in_the_alerts_unit() -> None:
    site = routed_site()
    place = AlertPlace("icu", position_of_area(site, "icu-1"))
    found = resolve_tier(
        tier(Target(TargetKind.ROLE, "charge_nurse")), site=site, place=place, at=NOW, responders={}
    )
    assert [(r.id, r.reason) for r in found] == [("n-2", "charge_nurse of icu")]
    ed = AlertPlace("ed", None)
    assert (
        resolve_tier(
            tier(Target(TargetKind.ROLE, "charge_nurse")),
            site=site,
            place=ed,
            at=NOW,
            responders={},
        )
        == []
    )


def test_a_team_is_its_desk_and_its_members_each_once() -> None:
    site = routed_site()
    found = resolve_tier(
        tier(Target(TargetKind.TEAM, "security"), Target(TargetKind.STAFF, "s-1")),
        site=site,
        place=AlertPlace("icu", None),
        at=NOW,
        responders={},
    )
    assert [r.id for r in found] == ["security", "s-1", "s-2"]


def test_the_nearest_available_responders_within_reach() -> None:
    site = routed_site()
    place = AlertPlace("icu", position_of_area(site, "icu-1"))
    responders = {
        "s-1": Position("f1", (15.0, 5.0), 1),  # 10 m away
        "s-2": Position("f1", (35.0, 20.0), 1),  # about 33 m away
    }
    near = Target(TargetKind.PROXIMITY, count=1, within_m=50.0)
    found = resolve_tier(tier(near), site=site, place=place, at=NOW, responders=responders)
    assert [r.id for r in found] == ["s-1"]
    assert found[0].reason == "nearest responder, 10 m"
    busy = resolve_tier(
        tier(near), site=site, place=place, at=NOW, responders=responders, busy={"s-1"}
    )
    assert [r.id for r in busy] == ["s-2"]
    tight = Target(TargetKind.PROXIMITY, count=3, within_m=20.0)
    assert [
        r.id
        for r in resolve_tier(tier(tight), site=site, place=place, at=NOW, responders=responders)
    ] == ["s-1"]


def test_the_person_in_danger_is_never_paged_about_themselves() -> None:
    site = routed_site()
    found = resolve_tier(
        tier(Target(TargetKind.ROLE, "charge_nurse")),
        site=site,
        place=AlertPlace("icu", None),
        at=NOW,
        responders={},
        exclude={"n-2"},
    )
    assert found == []
