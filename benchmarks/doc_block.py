"""A generated block of a Markdown document: the text between a begin and an end marker.

Benchmarks keep their latest figures in docs/benchmarks.md between such markers; a test compares
the block with the result file, and a ``--write`` option replaces it.
"""

from __future__ import annotations

from pathlib import Path


def _span(doc: str, begin: str, end: str, name: str) -> tuple[int, int]:
    try:
        start = doc.index(begin) + len(begin)
        stop = doc.index(end, start)
    except ValueError as error:
        raise ValueError(f"{name} has no {begin!r} … {end!r} block") from error
    return start, stop


def block(doc: str, begin: str, end: str, name: str = "the document") -> str:
    """The text between ``begin`` and ``end`` in ``doc``, without the newlines around it."""
    start, stop = _span(doc, begin, end, name)
    return doc[start:stop].strip("\n")


def replace(path: Path, begin: str, end: str, text: str) -> None:
    """Put ``text`` between the markers of the file at ``path``, leaving the rest as it is."""
    doc = path.read_text(encoding="utf-8")
    start, stop = _span(doc, begin, end, path.name)
    path.write_text(doc[:start] + "\n" + text + "\n" + doc[stop:], encoding="utf-8")
