"""Compiles the location engine's hot modules with mypyc (docs/decisions/0016); everything else is
declared in pyproject.toml.

The same source files stay the pure-Python modules: the C extensions are built next to them, and
``duress._native`` uses them only while the sources hash as they did at build time (a stamp
written here). Where the extensions cannot be built (no mypy in the build environment, no C
compiler, a platform mypyc does not support) the install goes on without them and the pure modules
run: a warning, not a failure. ``DURESS_PURE_PYTHON=1`` skips the compilation (and, at run time,
the compiled modules).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"

# The list of compiled modules and the stamp live in duress/_native.py (standard library only),
# loaded by path: the package itself is not installed yet.
_spec = importlib.util.spec_from_file_location("_duress_native", SRC / "duress" / "_native.py")
assert _spec is not None
assert _spec.loader is not None
native = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(native)


def _warn(message: str) -> None:
    print(f"duress: {message}; the pure-Python location engine will run", file=sys.stderr)


def _mypycify() -> list[Any]:
    """The extensions mypyc builds (C generated under build/), or none."""
    if native.pure_requested(os.environ):
        _warn(f"{native.PURE_ENV}=1: not compiling")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _warn("mypyc (mypy) is not installed in the build environment")
        return []
    cwd = os.getcwd()
    os.chdir(HERE)  # mypyc takes paths relative to the project and writes its C files to build/
    try:
        return list(
            mypycify(
                [f"src/{path}" for path in native.SOURCES],
                group_name=native.GROUP,
                opt_level="3",
            )
        )
    except (Exception, SystemExit) as error:  # mypyc exits when it cannot compile
        _warn(f"mypyc could not compile the location engine ({error!r})")
        return []
    finally:
        os.chdir(cwd)


class OptionalBuildExt(build_ext):
    """Generates the C with mypyc when the extensions are built (not at every ``setup.py``
    call: pip runs it several times), compiles it if it can, then stamps the sources."""

    def finalize_options(self) -> None:
        self.distribution.ext_modules = _mypycify()
        super().finalize_options()

    def _stamp_dirs(self) -> list[Path]:
        """Where the extensions go: the build directory (wheels) and, in place or for an
        editable install, the source tree."""
        dirs = [] if self.inplace else [Path(self.build_lib) / "duress"]
        if self.inplace or getattr(self, "editable_mode", False):
            dirs.append(SRC / "duress")
        return dirs

    def run(self) -> None:
        for package in self._stamp_dirs():
            (package / native.STAMP).unlink(missing_ok=True)  # no stamp while half-built
        if not self.extensions:
            return
        try:
            super().run()
        except Exception as error:  # a missing compiler raises one of several distutils errors
            _warn(f"could not build the compiled location engine ({error})")
            return
        for package in self._stamp_dirs():
            native.write_stamp(package, SRC / "duress")

    def get_outputs(self) -> list[str]:
        outputs: list[str] = super().get_outputs()
        if self.extensions and not self.inplace:
            outputs.append(str(Path(self.build_lib) / "duress" / native.STAMP))
        return outputs


# Placeholders, replaced by mypyc's extensions when build_ext runs; they make the wheel a
# platform wheel and make setuptools run build_ext at all.
setup(
    ext_modules=[Extension(name, sources=[]) for name in native.MODULES],
    cmdclass={"build_ext": OptionalBuildExt},
)
