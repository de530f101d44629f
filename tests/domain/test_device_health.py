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


def test_state_rebuilds_from_stored_events() -> None:
    health = DeviceHealth({"ir-1": 60.0})
    health.apply(DeviceCameOnline(ts=T0, device="ir-1"))
    health.apply(DeviceWentSilent(ts=T0, device="ir-1", last_seen=T0, silent_s=0.0))
    assert health.state("ir-1").status is DeviceStatus.SILENT
    health.apply(DeviceCameOnline(ts=T0, device="unknown-device"))
    assert "unknown-device" not in health
