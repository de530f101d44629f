"""``duress._native``: the compiled location engine runs only if built from the current sources."""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from duress import _native

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _fake_build(tmp_path: Path) -> Path:
    """A ``duress`` package dir with the sources, an (empty) extension beside each, a stamp."""
    package = tmp_path / "duress"
    for name in _native.MODULES:
        source = tmp_path / (name.replace(".", "/") + ".py")
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"X = {name!r}\n", encoding="utf-8")
        source.with_suffix("").with_name(source.stem + SUFFIX).write_bytes(b"")
    _native.write_stamp(package, package)
    return package


def test_a_build_from_the_current_sources_may_run(tmp_path: Path) -> None:
    package = _fake_build(tmp_path)
    assert _native.check({}, package) == (True, "compiled from the current sources")


def test_an_edited_source_makes_the_build_stale(tmp_path: Path) -> None:
    package = _fake_build(tmp_path)
    with (tmp_path / "duress/domain/area_index.py").open("a", encoding="utf-8") as f:
        f.write("# edited after the build\n")
    ok, reason = _native.check({}, package)
    assert not ok
    assert reason.startswith("stale: duress/domain/area_index.py changed")


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_the_environment_forces_the_pure_modules(tmp_path: Path, value: str) -> None:
    package = _fake_build(tmp_path)
    assert _native.check({"DURESS_PURE_PYTHON": value}, package) == (
        False,
        "DURESS_PURE_PYTHON is set",
    )
    assert _native.check({"DURESS_PURE_PYTHON": "0"}, package)[0]


def test_no_stamp_a_bad_stamp_or_a_missing_extension_is_not_a_build(tmp_path: Path) -> None:
    package = _fake_build(tmp_path)
    stamp = package / _native.STAMP
    text = stamp.read_text(encoding="utf-8")
    stamp.write_text("{", encoding="utf-8")
    assert _native.check({}, package)[1].startswith("no valid build stamp")
    other = json.loads(text) | {"python": "cpython-27"}
    stamp.write_text(json.dumps(other), encoding="utf-8")
    assert _native.check({}, package)[1].startswith("built for another Python")
    stamp.unlink()
    assert not _native.check({}, package)[0]
    _native.write_stamp(package, package)
    (tmp_path / f"duress/domain/location{SUFFIX}").unlink()
    ok, reason = _native.check({}, package)
    assert not ok
    assert reason == f"not compiled (location{SUFFIX} missing)"


def test_the_source_finder_loads_the_source_beside_an_extension(tmp_path: Path) -> None:
    (tmp_path / "location.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / f"location{SUFFIX}").write_bytes(b"not an extension")
    finder = _native.SourceFinder()
    spec = finder.find_spec("duress.domain.location", [str(tmp_path)])
    assert spec is not None
    assert spec.origin == str(tmp_path / "location.py")
    assert isinstance(spec.loader, importlib.machinery.SourceFileLoader)
    assert finder.find_spec("duress.domain.facility", [str(tmp_path)]) is None
    assert finder.find_spec("duress.domain.location", None) is None


def test_the_running_engine_is_the_one_the_check_allows() -> None:
    ok, _ = _native.check(os.environ)
    assert _native.status()["engine"] == ("compiled" if ok else "pure")


def _engine_in_copy(tmp_path: Path, edit: bool) -> str:
    """Which engine a fresh interpreter imports from a copy of this ``duress`` package."""
    src = Path(_native.__file__).resolve().parent
    shutil.copytree(src, tmp_path / "duress", ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        with (tmp_path / "duress/domain/location.py").open("a", encoding="utf-8") as f:
            f.write("\n# edited after the build\n")
    env = {k: v for k, v in os.environ.items() if k != _native.PURE_ENV}
    env["PYTHONPATH"] = str(tmp_path)
    code = (
        "import duress.domain.location as m, duress._native as n; "
        "print(m.__file__.rsplit('/', 1)[1], n.status()['engine'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.slow
def test_stale_compiled_code_never_runs(tmp_path: Path) -> None:
    if _native.status()["engine"] != "compiled":
        pytest.skip(f"the compiled location engine is not active: {_native.status()['reason']}")
    assert _engine_in_copy(tmp_path / "as-built", edit=False) == f"location{SUFFIX} compiled"
    assert _engine_in_copy(tmp_path / "edited", edit=True) == "location.py pure"


def test_the_makefile_rebuilds_after_an_edit_of_any_compiled_source() -> None:
    makefile = Path(__file__).resolve().parents[1] / "Makefile"
    line = next(
        row
        for row in makefile.read_text(encoding="utf-8").splitlines()
        if row.startswith("ENGINE_SOURCES :=")
    )
    listed = set(line.split(":=", 1)[1].split())
    assert {f"src/{source}" for source in _native.SOURCES} <= listed
