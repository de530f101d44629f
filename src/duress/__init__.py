"""Duress: an open-source staff-duress platform for hospitals."""

from duress import _native

__version__ = "0.1.0"

# Before any module of the package is imported: the compiled location engine runs only if it
# was built from the current sources (docs/decisions/0016-compiled-location-engine.md).
_native.install()
