"""`duress config check` and `duress config import`, driven through the Typer app."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from duress.cli.site import config_app
from duress.config.loader import load_site

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "config" / "fixtures"
runner = CliRunner()


def test_check_prints_the_summary_of_a_valid_site() -> None:
    result = runner.invoke(
        config_app, ["check", str(EXAMPLES / "mercy-general")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "Mercy General Hospital (mercy-general)" in result.output
    assert "3 floor(s), 275 areas, 326 devices, 179 staff, 188 badges" in result.output
    assert "bay_emitter" in result.output
    assert "behavioral_health" in result.output
    assert "is a valid site configuration" in result.output
    assert "BLE devices: 106, not calibrated" in result.output


def test_check_prints_every_problem_and_exits_1() -> None:
    result = runner.invoke(
        config_app, ["check", str(EXAMPLES / "broken-site.yaml")], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 1
    assert "3 problems" in result.output
    assert "unknown key 'requried_precision'" in result.output
    assert "the polygon is not valid" in result.output
    assert "'n-0999' is not a known staff id" in result.output


def test_import_geojson_writes_a_loadable_facility(tmp_path: Path) -> None:
    out = tmp_path / "facility.yaml"
    result = runner.invoke(
        config_app,
        [
            "import",
            "--format",
            "geojson",
            str(FIXTURES / "clinic.geojson"),
            "--out",
            str(out),
            "--floor",
            "l1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 floor(s), 10 areas" in result.output
    assert out.read_text().startswith("# Imported from clinic.geojson (geojson)")
    (tmp_path / "site.yaml").write_text("site: {id: c, name: Clinic, timezone: UTC}\n")
    assert set(load_site(tmp_path).facility.floors) == {"l1"}


def test_import_imdf(tmp_path: Path) -> None:
    out = tmp_path / "facility.yaml"
    result = runner.invoke(
        config_app, ["import", "-f", "imdf", str(FIXTURES / "imdf-clinic"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2 floor(s), 12 areas (3 openings not imported)" in result.output


def test_import_reports_errors(tmp_path: Path) -> None:
    result = runner.invoke(
        config_app, ["import", "-f", "imdf", str(tmp_path), "-o", str(tmp_path / "x.yaml")]
    )
    assert result.exit_code == 1
    assert "lacks venue.geojson, level.geojson, unit.geojson" in result.output
    assert not (tmp_path / "x.yaml").exists()
