"""A generated block of a Markdown document: the text between a begin and an end marker.

Benchmarks keep their latest figures in docs/benchmarks.md between such markers; a test compares
the block with the result file, and a ``--write`` option replaces it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "benchmarks" / "results"


@dataclass(frozen=True)
class GeneratedBlock:
    """A block of ``doc`` that ``render`` makes from a benchmark's result file
    (``benchmarks/results/<benchmark>.json``). ``command`` shows it; ``command --write`` writes it
    between ``<!-- <name>:begin (<command> --write) -->`` and ``<!-- <name>:end -->``."""

    name: str
    command: str
    benchmark: str
    render: Callable[[Mapping[str, Any]], str]
    what: str
    """What the block holds, for the message after writing it ("the location figures")."""
    doc: Path = BENCHMARKS_DOC
    results: Path = RESULTS

    @property
    def begin(self) -> str:
        return f"<!-- {self.name}:begin ({self.command} --write) -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    @property
    def result(self) -> Path:
        return self.results / f"{self.benchmark}.json"

    def block(self, doc: str) -> str:
        """The generated part of ``doc``'s text, between the markers."""
        return block(doc, self.begin, self.end, self.doc.name)

    def write(self, doc_path: Path, result: Mapping[str, Any]) -> None:
        """Render ``result`` into the block of the file at ``doc_path``."""
        replace(doc_path, self.begin, self.end, self.render(result))

    def stale(self) -> str | None:
        """Why ``doc``'s block differs from what the result file renders to (None: it does not)."""
        result = json.loads(self.result.read_text(encoding="utf-8"))
        if self.block(self.doc.read_text(encoding="utf-8")) == self.render(result):
            return None
        return (
            f"{self.doc.name}'s block {self.name!r} differs from {self.result.name}: "
            f"run `{self.command} --write`"
        )

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
