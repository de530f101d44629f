"""``duress simulate`` / ``locate`` / ``evaluate`` (registered here on a private Typer app)."""

from __future__ import annotations

import gc
import itertools
import json
import math
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from duress.cli import location
from duress.domain.observations import Heartbeat

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "examples" / "espresense-home"

app = typer.Typer()
app.command()(location.simulate)
app.command()(location.locate)
app.command()(location.evaluate)
runner = CliRunner()


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    result = runner.invoke(
        app,
        [
            "simulate",
            "--site",
            "builtin:hospital:1x4",
            "--minutes",
            "1",
            "--badges",
            "3",
            "--seed",
            "5",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_simulate_writes_native_sightings_presses_and_truth(simulated: Path) -> None:
    sightings = _lines(simulated / "sightings.jsonl")
    truth = _lines(simulated / "truth.jsonl")
    assert (simulated / "presses.jsonl").exists()
    assert sightings
    assert {s["type"] for s in sightings} == {"sighting", "heartbeat"}  # heartbeats: IR supervision
    first = next(s for s in sightings if s["type"] == "sighting")
    assert {"ts", "badge", "device", "kind", "received_at"} <= set(first)
    assert len(truth) == 3 * 61
    assert set(truth[0]) == {"ts", "badge", "floor", "unit", "room", "bay", "zone"}


def test_locate_then_evaluate(simulated: Path, tmp_path: Path) -> None:
    located = tmp_path / "loc.jsonl"
    result = runner.invoke(
        app,
        [
            "locate",
            "--site",
            "builtin:hospital:1x4",
            "--badges",
            "3",
            "--sightings",
            str(simulated / "sightings.jsonl"),
            "--out",
            str(located),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = _lines(located)
    assert {r["badge"] for r in rows} == {"sim-0001", "sim-0002", "sim-0003"}
    assert set(rows[0]) == {
        "ts",
        "badge",
        "floor",
        "unit",
        "room",
        "bay",
        "zone",
        "precision",
        "confidence",
        "age_s",
    }
    assert len(rows) % 3 == 0
    assert len(rows) >= 3 * 60
    report_path = tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--truth",
            str(simulated / "truth.jsonl"),
            "--locations",
            str(located),
            "--site",
            "builtin:hospital:1x4",
            "--out",
            str(report_path),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())["all"]
    assert report["zone_accuracy"] > 0.5
    assert "room" in report["by_area_kind"]
    assert "areas where the required precision was met least" in result.output
    assert set(report["by_area"]) <= set(
        location.load_any_site("builtin:hospital:1x4", 3).facility.areas
    )
    assert "transition_delay_ir_s" in report
    evaluate = ["evaluate", "--truth", str(simulated / "truth.jsonl"), "--locations", str(located)]
    site = ["--site", "builtin:hospital:1x4"]
    result = runner.invoke(app, [*evaluate, *site, "--offline", "nope"])
    assert result.exit_code != 0
    assert "no such device" in result.output
    result = runner.invoke(app, [*evaluate, "--offline", "ir-f1-s01"])
    assert result.exit_code != 0
    assert "give --site too" in result.output
    result = runner.invoke(
        app, [*evaluate, *site, "--offline", "ir-f1-s01", "--out", str(report_path)]
    )
    assert result.exit_code == 0, result.output
    dead = json.loads(report_path.read_text())["all"]
    assert {"zone_accuracy_ir_offline", "transition_delay_ir_offline_s"} <= set(dead)


def test_evaluate_with_the_sightings_says_where_the_wrong_seconds_in_ir_rooms_went(
    simulated: Path, tmp_path: Path
) -> None:
    located = tmp_path / "loc.jsonl"
    site = ["--site", "builtin:hospital:1x4", "--badges", "3"]
    sightings = str(simulated / "sightings.jsonl")
    result = runner.invoke(app, ["locate", *site, "--sightings", sightings, "--out", str(located)])
    assert result.exit_code == 0, result.output
    evaluate = ["evaluate", "--truth", str(simulated / "truth.jsonl"), "--locations", str(located)]
    report_path = tmp_path / "report.json"
    result = runner.invoke(
        app, [*evaluate, *site, "--sightings", sightings, "--out", str(report_path)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())["all"]
    loss = report["room_loss"]
    assert loss["ir_room_seconds"] > 0
    wrong = loss["evidence_share"] + loss["engine_share"]
    assert report["room_accuracy_ir"] == pytest.approx(1 - wrong, abs=0.01)
    assert "wrong seconds in IR rooms" in result.output
    assert "no code of the room yet (evidence)" in result.output
    lone = report["lone_codes"]
    assert sum(lone["counts"].values()) > 0
    assert lone["badge_hours"] > 0
    assert "passing by" in result.output
    # the IR devices are the site's: without it there is nothing to classify by
    result = runner.invoke(app, [*evaluate, "--sightings", sightings])
    assert result.exit_code != 0
    assert "needs --site" in result.output
    # without the sightings, no such figures
    result = runner.invoke(app, [*evaluate, *site, "--out", str(report_path)])
    assert result.exit_code == 0, result.output
    assert "room_loss" not in json.loads(report_path.read_text())["all"]
    assert "lone_codes" not in json.loads(report_path.read_text())["all"]


def test_the_weakest_areas_are_those_with_the_least_required_precision_met() -> None:
    by_area = {
        "r1": {"kind": "room", "required": "room", "seconds": 300.0, "required_met": 0.9},
        "r2": {"kind": "room", "required": "room", "seconds": 30.0, "required_met": 0.1},
        "r3": {"kind": "room", "required": "bed", "seconds": 120.0, "required_met": 0.5},
        "c1": {"kind": "corridor", "required": "room", "seconds": 600.0, "required_met": 0.5},
        "x": {"kind": None, "required": None, "seconds": 900.0, "required_met": None},
    }
    weakest = location.weakest_areas(by_area, 2)
    # r2 has too little time to judge; equal shares: the area people spent longer in first
    assert [area for area, _ in weakest] == ["c1", "r3"]
    assert [area for area, _ in location.weakest_areas(by_area, 10)] == ["c1", "r3", "r1"]


def test_locate_counts_bad_input_and_never_crashes(tmp_path: Path) -> None:
    good = {
        "type": "sighting",
        "ts": "2025-03-03T07:00:00Z",
        "badge": "sim-0001",
        "device": "ble-f1-c1",
        "kind": "ble",
        "rssi": -60,
    }
    lines = [
        good,
        {**good, "ts": "2025-03-03T07:00:01Z"},
        {**good, "ts": "2025-03-03T07:00:01Z"},  # duplicate
        {**good, "ts": "2025-03-03T07:00:02Z", "badge": "stranger"},  # unknown badge
        {**good, "ts": "2025-03-03T07:00:02Z", "device": "nope"},  # unknown device
        {**good, "ts": "2025-03-03T07:00:03Z", "rssi": -300},  # out of range (decoder)
        {**good, "ts": "2025-03-03T06:00:00Z"},  # far in the past: out of order / late
        {**good, "ts": "2030-01-01T00:00:00Z"},  # far future
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n[1]\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        ["locate", "--site", "builtin:hospital:1x4", "--sightings", str(src), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    for reason in ("duplicate", "unknown_badge", "unknown_device", "not_json", "future"):
        assert reason in result.output
    rows = _lines(out)
    assert {r["badge"] for r in rows} == {"sim-0001"}
    assert all(r["badge"] != "stranger" for r in rows)


def _read(lines: list[bytes]) -> tuple[list[location.Decoded], Counter[str]]:
    site = location.load_any_site("builtin:hospital:1x4", 3)
    rejected: Counter[str] = Counter()
    decoded = list(
        location.read_sightings(lines, site, location.InputFormat.NATIVE, None, rejected)
    )
    return decoded, rejected


def test_heartbeat_lines_are_read_apart_for_ir_supervision(simulated: Path) -> None:
    site = location.load_any_site("builtin:hospital:1x4", 3)
    rejected: Counter[str] = Counter()
    heartbeats: list[tuple[datetime, Heartbeat]] = []
    with (simulated / "sightings.jsonl").open("rb") as f:
        decoded = list(
            location.read_sightings(
                f, site, location.InputFormat.NATIVE, None, rejected, heartbeats
            )
        )
    assert decoded
    assert heartbeats
    assert not rejected
    assert {h.device for _, h in heartbeats} <= set(site.devices)
    # a monitor silent from the start is taken offline after two heartbeat intervals, unless
    # its heartbeat is read
    far = [(at, s) for at, s in decoded] + [
        (at + timedelta(seconds=700), replace(s, ts=s.ts + timedelta(seconds=700)))
        for at, s in decoded[:1]
    ]
    _, deaf = location.replay(site, far)
    assert "f1-s01" in deaf.ir_offline
    late = decoded[0][0] + timedelta(seconds=650)
    beat = Heartbeat(ts=late, device="ir-f1-s01")
    _, told = location.replay(site, far, heartbeats=[*heartbeats, (late, beat)])
    assert "f1-s01" not in told.ir_offline


def test_fast_and_full_decoders_read_the_same(simulated: Path) -> None:
    lines = [
        line
        for line in (simulated / "sightings.jsonl").read_bytes().splitlines()
        if b'"heartbeat"' not in line  # heartbeats are read apart (IR supervision)
    ]
    first = json.loads(lines[0])

    def changed(**fields: object) -> bytes:
        return json.dumps({**first, **fields}).encode()

    lines += [
        changed(ts=first["ts"].replace("+00:00", "Z")),
        changed(rssi=1),  # out of range
        changed(received_at="2025-03-03T07:00:00-0500"),  # as mosquitto_sub %j writes it
        changed(received_at=None),  # no arrival time: the replay clock
        changed(type="heartbeat"),
        b"[" * 100_000,  # nested too deeply for json.loads: counted, not a crash
        b"not json",
    ]
    # a line over native.FAST_LINE_MAX_BYTES always takes the full decoder
    padded = [line[:-1] + b',"padding":"' + b"x" * 1100 + b'"}' for line in lines]
    fast, fast_rejected = _read(lines)
    full, full_rejected = _read(padded)
    assert repr(fast) == repr(full)
    assert fast_rejected == full_rejected
    assert fast_rejected == {
        "rssi_out_of_range": 1,
        "not_a_sighting:heartbeat": 1,
        "not_json": 2,
    }
    assert len(fast) == len(lines) - 4


def test_the_collector_is_paused_while_locating() -> None:
    assert gc.isenabled()
    with location.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with location.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_locate_wild_format_needs_a_mapping(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonp"
    src.write_text("")
    result = runner.invoke(
        app,
        [
            "locate",
            "--site",
            "builtin:hospital:1x4",
            "--sightings",
            str(src),
            "--format",
            "espresense",
        ],
    )
    assert result.exit_code != 0
    assert "mapping" in result.output


def test_locate_reads_the_real_espresense_capture(vectors: Path, tmp_path: Path) -> None:
    capture = vectors / "espresense" / "stationary-capture.jsonp"
    out = tmp_path / "esp.jsonl"
    result = runner.invoke(
        app,
        [
            "locate",
            "--site",
            str(HOME / "site.yaml"),
            "--format",
            "espresense",
            "--mapping",
            str(HOME / "mapping.yaml"),
            "--sightings",
            str(capture),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1,693 sightings used" in result.output  # every line decodes and is accepted
    rows = _lines(out)
    assert {r["badge"] for r in rows} == {"b-darrell"}
    located = [r for r in rows if r["precision"] != "unknown"]
    assert len(located) >= len(rows) - 2  # located from its first second on
    places = [r["zone"] for r in located]
    changes = sum(1 for a, b in itertools.pairwise(places) if a != b)
    assert changes <= 2  # a stationary device: no flapping between rooms


def test_replayed_rows_are_what_the_engine_says_each_second(simulated: Path) -> None:
    # replay ages the engine's reports itself: the rows must be engine.locate's, timed-out
    # badges included (the last two of three stop reporting after 20 s)
    site = location.load_any_site("builtin:hospital:1x4", 3)
    decoded = list(
        location.read_sightings_file(
            simulated / "sightings.jsonl", site, location.InputFormat.NATIVE, None, Counter()
        )
    )
    start = min(at for at, _ in decoded)
    kept = [
        (at, s)
        for at, s in decoded
        if s.badge == min(site.badges) or (at - start).total_seconds() < 20
    ]
    params = location.LocationParams(unknown_after_s=15.0)
    rows, _ = location.replay(site, kept, params)
    engine = location.LocationEngine(site, params)
    items = sorted(kept, key=lambda p: p[0])
    k = 0
    timed_out = 0
    for row in rows:
        second = datetime.fromisoformat(str(row["ts"]))
        if row["badge"] == rows[0]["badge"]:  # a new second: its sightings, then the timer
            while k < len(items) and items[k][0] <= second:
                engine.observe(items[k][1], items[k][0])
                k += 1
            engine.advance(second)
        loc = engine.locate(str(row["badge"]), second)
        age = round(loc.age_s, 1) if math.isfinite(loc.age_s) else None
        assert row == {
            "ts": row["ts"],
            "badge": row["badge"],
            "floor": loc.floor,
            "unit": loc.unit,
            "room": loc.room,
            "bay": loc.bay,
            "zone": loc.zone,
            "precision": loc.precision.value,
            "confidence": round(loc.confidence, 3),
            "age_s": age,
        }
        timed_out += loc.last_known is not None
    assert timed_out > 0


_ID = st.text(st.characters(exclude_categories=()), min_size=1, max_size=12)
"""Any character: DEL, controls, non-ASCII, lone surrogates."""


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "ts": st.just("2024-05-01T12:00:00+00:00"),
                "badge": _ID,
                "room": st.none() | _ID,
                "precision": st.sampled_from(["bed", "room", "zone", "floor", "unknown"]),
                "confidence": st.floats(0.0, 1.0).map(lambda c: round(c, 3)),
                "age_s": st.none() | st.floats(0.0, 1e12).map(lambda a: round(a, 1)),
            }
        ),
        max_size=5,
    )
)
def test_rows_are_written_exactly_as_json_dumps_writes_them(rows: list[dict[str, object]]) -> None:
    expected = "".join(json.dumps(r, separators=(",", ":"), default=str) + "\n" for r in rows)
    assert location.rows_text(rows) == expected


def test_the_builtin_hospital_with_door_monitors_simulates_and_locates(tmp_path: Path) -> None:
    site = ["--site", "builtin:hospital-doors:1x4"]
    out = tmp_path / "sim"
    args = ["simulate", *site, "--minutes", "3", "--badges", "4", "--seed", "2", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doors = [
        s for s in _lines(out / "sightings.jsonl") if str(s.get("device", "")).startswith("door-")
    ]
    assert doors
    assert all(s["kind"] == "ir" for s in doors if s["type"] == "sighting")
    located = tmp_path / "loc.jsonl"
    sightings = str(out / "sightings.jsonl")
    result = runner.invoke(app, ["locate", *site, "--sightings", sightings, "--out", str(located)])
    assert result.exit_code == 0, result.output
    assert "not_a_locator" not in result.output
    assert "unknown_device" not in result.output
    assert any(row["room"] for row in _lines(located))
    result = runner.invoke(app, ["simulate", "--site", "builtin:clinic", "--out", str(out)])
    assert result.exit_code != 0
    assert "builtin:hospital-doors" in result.output
