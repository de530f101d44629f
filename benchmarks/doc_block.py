"""A generated block of a Markdown document: the text between a begin and an end marker.

Benchmarks keep their latest figures in docs/benchmarks.md between such markers; a test compares
the block with the result file, and a ``--write`` option replaces it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


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


@dataclass(frozen=True)
class GeneratedBlock:
    """A block of ``doc`` that ``render`` makes from the JSON file ``result``, with the command
    line that shows it (``command``) or writes it into ``doc`` (``command --write``)."""

    begin: str
    end: str
    doc: Path
    result: Path
    render: Callable[[Mapping[str, Any]], str]
    what: str
    """What the block holds, for the message after writing it ("the location figures")."""
    command: str

    def block(self, doc: str) -> str:
        """The generated part of ``doc``'s text, between the markers."""
        return block(doc, self.begin, self.end, self.doc.name)

    def write(self, doc_path: Path, result: Mapping[str, Any]) -> None:
        """Render ``result`` into the block of the file at ``doc_path``."""
        replace(doc_path, self.begin, self.end, self.render(result))

    def main(self, argv: list[str], out: Callable[[str], None] = print) -> int:
        result = json.loads(self.result.read_text(encoding="utf-8"))
        if argv == ["--write"]:
            self.write(self.doc, result)
            root = self.doc.parents[1]
            out(f"wrote {self.what} of {result['at']} into {self.doc.relative_to(root)}")
            return 0
        if argv:
            out(f"usage: {self.command} [--write]")
            return 2
        out(self.render(result))
        return 0
