"""``duress calibrate`` on a simulated survey walk of the example site, and its bad input."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner, Result

from duress.cli import calibrate, location
from duress.config.loader import load_site

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "examples" / "mercy-general"

app = typer.Typer()
app.command()(location.simulate)
app.command()(calibrate.calibrate)
runner = CliRunner()


def _calibrate(walked: Path, walk: Path, *more: str) -> Result:
    """``duress calibrate`` on the example site and the simulated walk's sightings."""
    args = ["calibrate", "--site", str(SITE), "--sightings", str(walked / "sightings.jsonl")]
    return runner.invoke(app, [*args, "--walk", str(walk), *more])


def _said(output: str) -> str:
    """The output with Rich's error box and line wrapping taken out."""
    return " ".join(w for w in output.split() if w not in ("│", "╭─", "╰─"))


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("survey")
    result = runner.invoke(
        app,
        [
            "simulate",
            "--site",
            str(SITE),
            "--minutes",
            "12",
            "--badges",
            "2",
            "--seed",
            "4",
            "--survey",
            "--tx-spread",
            "4",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "the survey walk of b-0001" in result.output
    return out


def test_simulate_writes_the_surveyors_walk(walked: Path) -> None:
    lines = [json.loads(x) for x in (walked / "survey.jsonl").read_text().splitlines()]
    assert len(lines) == 12 * 60 + 1
    assert set(lines[0]) == {"ts", "badge", "floor", "x", "y"}
    assert {line["badge"] for line in lines} == {"b-0001"}
    truth = [json.loads(x) for x in (walked / "truth.jsonl").read_text().splitlines()]
    assert set(truth[0]) == {"ts", "badge", "floor", "unit", "room", "bay", "zone"}


def test_calibrate_writes_a_section_the_site_loads(walked: Path, tmp_path: Path) -> None:
    out = tmp_path / "calibration.yaml"
    result = _calibrate(walked, walked / "survey.jsonl", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "BLE devices fitted" in result.output
    assert "(fitted)" in result.output
    assert "sightings of other badges ignored" in result.output
    assert "not fitted" in result.output  # a 12-minute walk does not reach every floor
    assert "IR devices on the walk (checked, not calibrated)" in result.output
    assert "IR: the walk went into the areas of" in _said(result.output)
    section = yaml.safe_load(out.read_text())["calibration"]
    assert section["source"].startswith("survey walk of 2025-03-03")
    assert 2.0 < section["path_loss_exponent"] < 3.0
    fitted = section["tx_power"]
    assert len(fitted) >= 10
    assert "# ble-f3-001: not fitted" in out.read_text()
    # the file dropped into the site folder calibrates the site
    site_dir = tmp_path / "site"
    shutil.copytree(SITE, site_dir)
    shutil.copy(out, site_dir / "calibration.yaml")
    site = load_site(site_dir)
    for device_id, tx in fitted.items():
        assert site.devices[device_id].tx_power == tx
    assert site.calibration is not None
    assert site.calibration.path_loss_exponent == section["path_loss_exponent"]


def test_bad_walk_lines_are_counted_and_the_rest_used(walked: Path, tmp_path: Path) -> None:
    walk = tmp_path / "walk.jsonl"
    bad = [
        "not json",
        "[1, 2]",
        '{"floor": "f1", "x": 1, "y": 2}',
        '{"ts": "2025-03-03T07:00:00Z", "floor": "f9", "x": 1, "y": 2}',
        '{"ts": "2025-03-03T07:00:00Z", "area": "no-such-room"}',
        '{"ts": "2025-03-03T07:00:00Z", "floor": "f1", "x": "one", "y": 2}',
    ]
    walk.write_text("\n".join(bad) + "\n" + (walked / "survey.jsonl").read_text())
    result = _calibrate(walked, walk)
    assert result.exit_code == 0, result.output
    for reason in (
        "walk: not_json",
        "walk: not_an_object",
        "walk: no RFC 3339 ts with an offset",
        "walk: unknown floor",
        "walk: unknown area",
        "walk: no numeric x and y (or an area)",
    ):
        assert reason in result.output, reason
    assert "calibration:" in result.output  # the section, on standard output


def test_an_area_checkpoint_is_the_middle_of_the_area(tmp_path: Path) -> None:
    site = load_site(SITE)
    room = next(a for a in site.facility.areas.values() if a.kind.value == "room")
    counter: Counter[str] = Counter()
    points, badges = calibrate.read_walk(
        [json.dumps({"ts": "2025-03-03T07:00:00Z", "area": room.id, "badge": "t-1"})],
        site,
        counter,
    )
    xs = [p[0] for p in room.polygon]
    assert points[0].floor == room.floor
    assert points[0].x == pytest.approx(sum(xs) / len(xs))
    assert badges == {"t-1"}
    assert not counter


def test_calibrate_says_what_is_missing(walked: Path, tmp_path: Path) -> None:
    two = tmp_path / "two.jsonl"
    two.write_text(
        '{"ts": "2025-03-03T07:00:00Z", "badge": "a", "floor": "f1", "x": 1, "y": 1}\n'
        '{"ts": "2025-03-03T07:00:01Z", "badge": "b", "floor": "f1", "x": 1, "y": 1}\n'
    )
    result = _calibrate(walked, two)
    assert result.exit_code != 0
    assert "say which one walked with --badge" in _said(result.output)
    result = _calibrate(walked, two, "--badge", "nobody")
    assert result.exit_code != 0
    assert "no BLE reading of badge 'nobody'" in _said(result.output)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("garbage\n")
    result = _calibrate(walked, empty)
    assert result.exit_code != 0
    assert "no usable checkpoint" in _said(result.output)


def test_a_walk_on_another_clock_is_shifted_by_walk_offset(walked: Path) -> None:
    off = _calibrate(walked, walked / "survey.jsonl", "--walk-offset", "3600")
    assert off.exit_code == 0, off.output
    assert "0 of 106 devices fitted" in _said(off.output)
    assert "no known position" in off.output
    on = _calibrate(walked, walked / "survey.jsonl", "--walk-offset", "0.5")
    assert on.exit_code == 0, on.output
    assert "0 of 106 devices fitted" not in _said(on.output)


def test_an_unreadable_sightings_file_is_a_bad_parameter(walked: Path, tmp_path: Path) -> None:
    args = ["calibrate", "--site", str(SITE), "--walk", str(walked / "survey.jsonl")]
    result = runner.invoke(app, [*args, "--sightings", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0
    assert "missing.jsonl" in _said(result.output)


def test_stops_only_uses_the_readings_taken_standing(walked: Path) -> None:
    result = _calibrate(walked, walked / "survey.jsonl", "--stops-only", "--no-fit-model")
    assert result.exit_code == 0, result.output
    assert "not while standing (stops_only)" in result.output
    assert "(kept)" in result.output  # the model as configured
