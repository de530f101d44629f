"""Schema migrations: numbered SQL files per backend, applied in order when a store opens.

Files live in ``duress/store/migrations/`` as ``NNNN_what.<backend>.sql`` (``backend`` is ``sqlite``
or ``postgres``). Each backend applies the pending ones in one transaction, holding a lock that
makes two processes opening the same database at once apply each file exactly once, and records each
in ``schema_migrations(version, name, applied_at)``. A database whose schema is newer than this
Duress knows is refused rather than written to.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.(?P<backend>sqlite|postgres)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """The migrations for ``backend`` in version order; raises if two files share a version."""
    found: dict[int, Migration] = {}
    for entry in (resources.files("duress.store") / "migrations").iterdir():
        match = _NAME.match(entry.name)
        if match is None or match["backend"] != backend:
            continue
        version = int(match["version"])
        if version in found:
            raise RuntimeError(f"two {backend} migrations have version {version}")
        found[version] = Migration(version, match["name"], entry.read_text(encoding="utf-8"))
    versions = sorted(found)
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"{backend} migrations must be numbered 1, 2, 3, ...; found {versions}")
    return [found[v] for v in versions]


def newer_schema_message(where: str, applied: int, known: int) -> str:
    return (
        f"{where} has schema version {applied} but this Duress knows only up to {known}: "
        "it was upgraded by a newer Duress; run that version (or restore a backup)"
    )


def sqlite_statements(script: str) -> list[str]:
    """Split a SQLite script into statements (triggers with ``BEGIN ... END;`` stay whole)."""
    statements: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            text = buffer.strip()
            if _has_code(text):
                statements.append(text)
            buffer = ""
    if _has_code(buffer.rstrip(";")):
        raise RuntimeError(
            f"incomplete SQL statement at the end of a migration: {buffer.strip()!r}"
        )
    return statements


def _has_code(text: str) -> bool:
    lines = (line.split("--", 1)[0].strip() for line in text.splitlines())
    return any(line and line != ";" for line in lines)
