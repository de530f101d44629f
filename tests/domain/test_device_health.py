from datetime import UTC, datetime, timedelta

from duress.domain.device_health import DeviceHealth, DeviceStatus
from duress.domain.events import DeviceCameOnline, DeviceWentSilent

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def test_first_heartbeat_brings_a_device_online_once() -> None:
    health = DeviceHealth({"ir-1": 60.0})
    assert health.state("ir-1").status is DeviceStatus.UNKNOWN
    events = health.heard("ir-1", T0, battery=80.0)
    assert events == [DeviceCameOnline(ts=T0, device="ir-1", battery=80.0)]
    assert health.heard("ir-1", T0 + timedelta(seconds=30)) == []
    assert health.state("ir-1").battery == 80.0


def test_silence_past_two_intervals_is_reported_once() -> None:
    health = DeviceHealth({"ir-1": 60.0})
    health.heard("ir-1", T0)
    assert health.deadline("ir-1") == T0 + timedelta(seconds=120)
    assert health.check("ir-1", T0 + timedelta(seconds=119)) == []
    events = health.check("ir-1", T0 + timedelta(seconds=121))
    assert events == [
        DeviceWentSilent(
            ts=T0 + timedelta(seconds=121), device="ir-1", last_seen=T0, silent_s=121.0
        )
    ]
    assert health.state("ir-1").status is DeviceStatus.SILENT
    assert health.check("ir-1", T0 + timedelta(seconds=500)) == []


def test_a_late_heartbeat_does_not_make_a_device_fresher() -> None:
    health = DeviceHealth({"ir-1": 60.0})
    health.heard("ir-1", T0)
    health.heard("ir-1", T0 - timedelta(seconds=30))
    assert health.state("ir-1").last_seen == T0


def test_hearing_an_online_device_again_moves_only_its_last_seen() -> None:
    health = DeviceHealth({"ir-1": 60.0})
    health.heard("ir-1", T0, battery=55.0)
    before = health.state("ir-1")
    assert health.heard("ir-1", T0 + timedelta(seconds=5)) == []
    after = health.state("ir-1")
    assert after.last_seen == T0 + timedelta(seconds=5)
    assert after.status is DeviceStatus.ONLINE
    assert (after.battery, after.battery_level, after.supervised_from) == (
        before.battery,
        before.battery_level,
        before.supervised_from,
    )
    assert health.deadline("ir-1") == T0 + timedelta(seconds=125)


def test_state_rebuilds_from_stored_events() -> None:
    health = DeviceHealth({"ir-1": 60.0})
    health.apply(DeviceCameOnline(ts=T0, device="ir-1"))
    health.apply(DeviceWentSilent(ts=T0, device="ir-1", last_seen=T0, silent_s=0.0))
    assert health.state("ir-1").status is DeviceStatus.SILENT
    health.apply(DeviceCameOnline(ts=T0, device="unknown-device"))
    assert "unknown-device" not in health


# --- gateways' last wills and batteries -------------------------------------------------------


def gateway_health() -> DeviceHealth:
    return DeviceHealth(
        {"gw-1": 60.0, "ir-1": 300.0, "ir-2": 300.0, "ir-3": 300.0},
        gateways={"ir-1": "gw-1", "ir-2": "gw-1", "ir-3": None},
    )


def test_a_last_will_marks_the_gateway_offline_and_its_devices_unsupervised() -> None:
    from duress.domain.events import GatewayCameOnline, GatewayWentOffline

    health = gateway_health()
    for device in ("gw-1", "ir-1", "ir-3"):
        health.heard(device, T0)
    later = T0 + timedelta(seconds=30)
    assert health.gateway_offline("gw-1", later) == [
        GatewayWentOffline(ts=later, gateway="gw-1", devices=("ir-1", "ir-2"))
    ]
    assert health.gateway_offline("gw-1", later) == []  # the retained will again
    assert health.state("gw-1").status is DeviceStatus.OFFLINE
    assert health.state("ir-1").status is DeviceStatus.UNSUPERVISED
    assert health.state("ir-2").status is DeviceStatus.UNSUPERVISED
    assert health.state("ir-3").status is DeviceStatus.ONLINE
    assert health.deadline("ir-1") is None  # not silent while we cannot hear it
    assert health.check("ir-1", T0 + timedelta(hours=1)) == []

    back = T0 + timedelta(seconds=1000)
    assert health.gateway_online("gw-1", back) == [
        GatewayCameOnline(ts=back, gateway="gw-1", devices=("ir-1", "ir-2"), offline_s=970.0)
    ]
    assert health.state("ir-1").status is DeviceStatus.ONLINE
    assert health.state("ir-2").status is DeviceStatus.UNKNOWN  # never heard: still unknown
    assert health.deadline("ir-1") == back + timedelta(seconds=600)  # counted from the return


def test_hearing_an_offline_gateway_brings_it_and_its_devices_back() -> None:
    from duress.domain.events import GatewayCameOnline

    health = gateway_health()
    health.heard("gw-1", T0)
    health.gateway_offline("gw-1", T0)
    events = health.heard("gw-1", T0 + timedelta(seconds=10))
    assert [type(e) for e in events] == [GatewayCameOnline]
    assert health.state("gw-1").status is DeviceStatus.ONLINE


def test_gateway_state_rebuilds_from_stored_events() -> None:
    health = gateway_health()
    health.heard("ir-1", T0)
    events = health.gateway_offline("gw-1", T0)
    rebuilt = gateway_health()
    rebuilt.apply(DeviceCameOnline(ts=T0, device="ir-1"))
    for event in events:
        rebuilt.apply(event)
    assert rebuilt.state("ir-1").status is DeviceStatus.UNSUPERVISED
    assert rebuilt.state("gw-1").status is DeviceStatus.OFFLINE


def test_battery_thresholds_turn_into_events_on_heartbeats() -> None:
    from duress.domain.events import DeviceBatteryChanged
    from duress.domain.supervision import BatteryLevel

    health = DeviceHealth({"ble-1": 900.0})
    first = health.heard("ble-1", T0, battery=22.0)
    assert first == [
        DeviceCameOnline(ts=T0, device="ble-1", battery=22.0),
        DeviceBatteryChanged(ts=T0, device="ble-1", battery=22.0, level="warning", previous="ok"),
    ]
    assert health.heard("ble-1", T0 + timedelta(seconds=1), battery=21.0) == []
    assert health.state("ble-1").battery_level is BatteryLevel.WARNING
    rebuilt = DeviceHealth({"ble-1": 900.0})
    for event in first:
        rebuilt.apply(event)
    assert rebuilt.state("ble-1").battery_level is BatteryLevel.WARNING
