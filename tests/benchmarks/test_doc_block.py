"""A generated block of a document: shown, written between its markers, and refused without them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import doc_block


def _generated(tmp_path: Path) -> doc_block.GeneratedBlock:
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "page.md"
    doc.write_text("intro\n<!-- b -->\nold\n<!-- e -->\noutro\n", encoding="utf-8")
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"at": "2026-11-30T17:00:00+00:00", "n": 3}), encoding="utf-8")

    def render(figures: dict[str, Any]) -> str:
        return "\n".join(doc_block.markdown_table(("figure", "value"), [("n", str(figures["n"]))]))

    return doc_block.GeneratedBlock(
        begin="<!-- b -->",
        end="<!-- e -->",
        doc=doc,
        result=result,
        render=render,
        what="the figures",
        command="python -m page",
    )


def test_main_shows_writes_and_explains_its_usage(tmp_path: Path) -> None:
    generated = _generated(tmp_path)
    said: list[str] = []
    assert generated.main([], said.append) == 0
    assert said == ["| figure | value |\n|---|---|\n| n | 3 |"]
    assert generated.main(["--write"], said.append) == 0
    assert said[-1] == "wrote the figures of 2026-11-30T17:00:00+00:00 into docs/page.md"
    text = generated.doc.read_text(encoding="utf-8")
    assert (
        text == "intro\n<!-- b -->\n| figure | value |\n|---|---|\n| n | 3 |\n<!-- e -->\noutro\n"
    )
    assert generated.block(text) == said[0]
    assert generated.main(["--other"], said.append) == 2
    assert said[-1] == "usage: python -m page [--write]"


def test_a_document_without_the_markers_is_refused_by_name(tmp_path: Path) -> None:
    generated = _generated(tmp_path)
    generated.doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"page\.md has no"):
        generated.write(generated.doc, {"n": 1})
    assert generated.doc.read_text(encoding="utf-8") == "no markers\n"
