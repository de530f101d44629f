from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from duress.cli import app
from duress.cli.routes import parse_when

SITE = Path(__file__).resolve().parents[2] / "examples" / "mercy-general"
runner = CliRunner()


def test_who_is_paged_for_a_press_in_the_icu_on_a_sunday_night() -> None:
    result = runner.invoke(
        app,
        [
            "routes",
            "test",
            "--site",
            str(SITE),
            "--unit",
            "icu",
            "--area",
            "icu-rm-03",
            "--at",
            "2026-03-01T03:00",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["policy"] == "inpatient-off-hours"  # a Sunday: the weekday day policy is off
    first, second, third = body["tiers"]
    assert first["at_s"] == 0
    assert {r["reason"] for r in first["recipients"]} == {
        "charge_nurse of icu",
        "team house-supervisors",
    }
    assert first["decided_at_press"] == ["3 nearest responders within 40 m"]
    assert second["at_s"] == 30
    assert third["at_s"] == 90


def test_the_day_policy_applies_on_a_weekday_morning() -> None:
    result = runner.invoke(
        app,
        [
            "routes",
            "test",
            "--site",
            str(SITE),
            "--unit",
            "icu",
            "--at",
            "2026-03-04T10:00",
            "--json",
        ],
    )
    assert json.loads(result.output)["policy"] == "inpatient-day"


def test_test_presses_preview_the_test_policy_and_unknown_units_are_refused() -> None:
    result = runner.invoke(
        app, ["routes", "test", "--site", str(SITE), "--unit", "icu", "--kind", "test", "--json"]
    )
    assert json.loads(result.output)["policy"] == "test-badges"
    unknown = runner.invoke(app, ["routes", "test", "--site", str(SITE), "--unit", "4B"])
    assert unknown.exit_code == 2
    assert "unknown unit '4B'" in unknown.output


def test_when_is_read_in_site_time() -> None:
    zone = ZoneInfo("America/Chicago")
    now = datetime(2026, 3, 4, 10, 30, tzinfo=zone)  # a Wednesday
    assert parse_when("sun 03:00", zone, now) == datetime(2026, 3, 8, 3, 0)
    assert parse_when("09:00", zone, now) == datetime(2026, 3, 5, 9, 0)  # already past today
    assert parse_when("2026-03-01T03:00", zone, now) == datetime(2026, 3, 1, 3, 0)
    assert parse_when(None, zone, now) == datetime(2026, 3, 4, 10, 30)


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_the_diagram_as_text(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"routing.{fmt}"
    result = runner.invoke(
        app,
        [
            "routes",
            "diagram",
            "--site",
            str(SITE),
            "--unit",
            "bh",
            "--format",
            fmt,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "Behavioural Health" in text
    assert "no accept in 30 s" in text


def test_the_diagram_as_svg(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed (make test installs it)")
    out = tmp_path / "routing.svg"
    result = runner.invoke(app, ["routes", "diagram", "--site", str(SITE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml")
    assert "Emergency Department" in svg
