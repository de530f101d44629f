from datetime import UTC, datetime, time

from duress.domain.routing import (
    HOLIDAY,
    Policy,
    Rotation,
    StopOn,
    Target,
    TargetKind,
    Tier,
    Window,
    policy_from_json,
    policy_to_json,
    select_policy,
)

MON_0300 = datetime(2026, 3, 2, 3, 0)  # a Monday, site-local
TIER = Tier((Target(TargetKind.TEAM, "security"),), 30.0)
DAYS = Window(frozenset(range(1, 6)), time(7), time(19))
NIGHTS = Window(frozenset({1, 2, 3, 4, 5, 6, 7}), time(19), time(7))


def test_a_day_window_and_an_overnight_window() -> None:
    assert DAYS.contains(datetime(2026, 3, 2, 7, 0))
    assert not DAYS.contains(datetime(2026, 3, 2, 19, 0))
    assert not DAYS.contains(datetime(2026, 3, 7, 12, 0))  # Saturday
    assert NIGHTS.contains(datetime(2026, 3, 2, 23, 0))
    assert NIGHTS.contains(MON_0300)
    assert not NIGHTS.contains(datetime(2026, 3, 2, 12, 0))


def test_overnight_belongs_to_the_day_it_started() -> None:
    friday_night = Window(frozenset({5}), time(22), time(6))
    assert friday_night.contains(datetime(2026, 3, 7, 5, 0))  # Saturday 05:00, Friday's night
    assert not friday_night.contains(datetime(2026, 3, 6, 5, 0))  # Friday 05:00: Thursday's


def test_a_holiday_is_not_a_weekday() -> None:
    christmas = datetime(2026, 12, 25, 12, 0)  # a Friday
    holidays = frozenset({"2026-12-25"})
    assert DAYS.contains(christmas)
    assert not DAYS.contains(christmas, holidays)
    holiday_days = Window(frozenset({HOLIDAY}), time(0), time(0))
    assert holiday_days.contains(christmas, holidays)


def test_the_highest_priority_then_the_most_specific_policy_wins() -> None:
    anywhere = Policy("default", "Default", (TIER,))
    icu = Policy("icu", "ICU", (TIER,), units=("icu",))
    icu_days = Policy("icu-days", "ICU days", (TIER,), units=("icu",), schedule=(DAYS,), priority=5)
    bay = Policy("bay", "Bay 4", (TIER,), areas=("icu-4",))
    policies = [anywhere, icu, icu_days, bay]
    pick = lambda **kw: select_policy(  # noqa: E731
        policies, **{"unit": "icu", "areas": ["icu-1"], "kind": "assist", "local": MON_0300, **kw}
    )
    assert pick().id == "icu"  # at night the day policy does not apply
    assert pick(local=datetime(2026, 3, 2, 10, 0)).id == "icu-days"
    assert pick(areas=["icu-4"]).id == "bay"
    assert pick(unit="ed").id == "default"


def test_test_alerts_only_match_a_policy_that_names_them() -> None:
    anywhere = Policy("default", "Default", (TIER,))
    assert select_policy([anywhere], unit="icu", areas=[], kind="test", local=MON_0300) is None
    tests = Policy("tests", "Tests", (TIER,), kinds=("test",))
    assert (
        select_policy([anywhere, tests], unit="icu", areas=[], kind="test", local=MON_0300) is tests
    )


def test_trouble_alerts_only_match_a_policy_that_names_them() -> None:
    anywhere = Policy("default", "Default", (TIER,))
    engineering = Policy("eng", "Engineering", (TIER,), kinds=("trouble",))
    assert select_policy([anywhere], unit="icu", areas=[], kind="trouble", local=MON_0300) is None
    found = select_policy(
        [anywhere, engineering], unit="icu", areas=[], kind="trouble", local=MON_0300
    )
    assert found is engineering


def test_a_policy_survives_freezing_into_an_alert() -> None:
    policy = Policy(
        "icu",
        "ICU",
        units=("icu",),
        kinds=("assist",),
        schedule=(NIGHTS,),
        stop_on=StopOn.ON_SCENE,
        priority=3,
        tiers=(
            Tier(
                (
                    Target(TargetKind.ROLE, "charge_nurse"),
                    Target(TargetKind.PROXIMITY, count=2, within_m=40.0, same_floor=True),
                ),
                30.0,
                repeat=1,
            ),
            TIER,
        ),
    )
    assert policy_from_json(policy_to_json(policy)) == policy


def test_a_rotation_hands_over_every_shift() -> None:
    rotation = Rotation(
        "sup", "Supervisors", ("h-1", "h-2", "h-3"), 12.0, datetime(2026, 1, 5, 7, tzinfo=UTC)
    )
    assert rotation.on_call(datetime(2026, 1, 5, 8, tzinfo=UTC)) == "h-1"
    assert rotation.on_call(datetime(2026, 1, 5, 20, tzinfo=UTC)) == "h-2"
    assert rotation.on_call(datetime(2026, 1, 7, 8, tzinfo=UTC)) == "h-2"  # 4 shifts later
    assert rotation.on_call(datetime(2026, 1, 4, 20, tzinfo=UTC)) == "h-3"  # before the start
