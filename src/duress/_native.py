"""The compiled location engine: which modules mypyc compiles, and whether the compiled ones run.

``setup.py`` compiles :data:`MODULES` (the location engine's hot path, docs/decisions/0016) into C
extensions built next to their ``.py`` sources, and writes :data:`STAMP`: the SHA-256 of each
source as compiled. Python's import system prefers an extension to a source file of the same
name, so a compiled module would run even after its source was edited. :func:`install` (called
by ``duress/__init__.py``, before any of these modules can be imported) checks the stamp; unless
every source still hashes as it did at build time, it puts :class:`SourceFinder` first on
``sys.meta_path``, and all the modules load from their sources (all or none: the compiled modules
call each other directly). So stale compiled code never runs; the pure engine does, and
:func:`status` says why. ``DURESS_PURE_PYTHON=1`` forces the pure modules (and skips compiling
them in ``setup.py``).

Standard library only: ``setup.py`` loads this file by path before ``duress`` is installed.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

MODULES = (
    "duress.domain.location",
    "duress.domain.area_index",
    "duress.domain.ble_grid",
    "duress.domain.ir_supervision",
)
"""The compiled modules. ``location`` first: the engine."""
SOURCES = tuple(name.replace(".", "/") + ".py" for name in MODULES)
"""Their sources, relative to the directory holding the ``duress`` package."""
GROUP = "duress.domain._engine"
"""mypyc's group: the shared library is ``duress.domain._engine__mypyc``."""
STAMP = "_native_build.json"
"""The build stamp, in the ``duress`` package directory."""
PURE_ENV = "DURESS_PURE_PYTHON"

_PACKAGE = Path(__file__).resolve().parent


def pure_requested(environ: Mapping[str, str]) -> bool:
    """``DURESS_PURE_PYTHON`` is set to a true value (``1``, ``true``, ``yes``, ``on``)."""
    return environ.get(PURE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _digests(root: Path) -> dict[str, str]:
    return {path: hashlib.sha256((root / path).read_bytes()).hexdigest() for path in SOURCES}


def write_stamp(package: Path, sources_package: Path) -> None:
    """Record the hashes of the sources in ``sources_package`` as built into ``package``."""
    stamp = {
        "python": sys.implementation.cache_tag,
        "modules": list(MODULES),
        "sources": _digests(sources_package.parent),
    }
    package.mkdir(parents=True, exist_ok=True)
    (package / STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")


def _extension_paths(package: Path) -> list[Path]:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return [package.parent / (name.replace(".", "/") + suffix) for name in MODULES]


def check(environ: Mapping[str, str], package: Path = _PACKAGE) -> tuple[bool, str]:
    """Whether the compiled modules may run, and why (or why not)."""
    if pure_requested(environ):
        return False, f"{PURE_ENV} is set"
    missing = [p.name for p in _extension_paths(package) if not p.is_file()]
    if missing:
        return False, f"not compiled ({', '.join(missing)} missing)"
    try:
        stamp = json.loads((package / STAMP).read_text(encoding="utf-8"))
        built = stamp["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return False, f"no valid build stamp ({STAMP})"
    if stamp.get("python") != sys.implementation.cache_tag or stamp.get("modules") != list(MODULES):
        return False, "built for another Python or another set of modules"
    try:
        now = _digests(package.parent)
    except OSError as error:
        return False, f"cannot read a source ({error})"
    changed = [path for path in SOURCES if built.get(path) != now[path]]
    if changed:
        return False, f"stale: {', '.join(changed)} changed since the build (rebuild: make native)"
    return True, "compiled from the current sources"


class SourceFinder(importlib.abc.MetaPathFinder):
    """Loads :data:`MODULES` from their ``.py`` sources even where an extension sits beside them."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname not in MODULES or path is None:
            return None
        filename = fullname.rpartition(".")[2] + ".py"
        for entry in path:
            candidate = os.path.join(entry, filename)
            if os.path.isfile(candidate):
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


_status: tuple[bool, str] = (False, "not checked")


def install(environ: Mapping[str, str] | None = None) -> None:
    """Check the stamp once; unless the compiled modules may run, load them from source."""
    global _status
    _status = check(os.environ if environ is None else environ)
    if not _status[0] and not any(isinstance(f, SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceFinder())


def load_pure() -> ModuleType:
    """``duress.domain.location`` loaded afresh from its source, and with it the other modules of
    :data:`MODULES` (pure all through, never mixed with compiled ones), leaving the modules
    already imported as they were: the two engines side by side in one process (tests,
    benchmarks)."""
    parent = importlib.import_module("duress.domain")
    saved = {name: sys.modules.pop(name) for name in MODULES if name in sys.modules}
    finder = SourceFinder()
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module(MODULES[0])
    finally:
        sys.meta_path.remove(finder)
        for name in MODULES:
            sys.modules.pop(name, None)
        for name, module in saved.items():
            sys.modules[name] = module
            setattr(parent, name.rpartition(".")[2], module)


def status() -> dict[str, str]:
    """Which location engine runs (``compiled`` or ``pure``, from the module actually
    imported) and why; for benchmarks, tests and diagnostics."""
    module = importlib.import_module(MODULES[0])
    compiled = not (getattr(module, "__file__", None) or "").endswith(".py")
    return {"engine": "compiled" if compiled else "pure", "reason": _status[1]}
