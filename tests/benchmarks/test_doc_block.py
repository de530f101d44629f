"""A generated block of a document: shown, written between its markers, and refused without them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from benchmarks.location import summary
from benchmarks.location_seeds import bench_entry_rule as entry_rule

from benchmarks import doc_block, tables


def _generated(tmp_path: Path) -> doc_block.GeneratedBlock:
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "page.md"
    begin = "<!-- figures:begin (python -m page --write) -->"
    doc.write_text(f"intro\n{begin}\nold\n<!-- figures:end -->\noutro\n", encoding="utf-8")
    (tmp_path / "bench.json").write_text(
        json.dumps({"at": "2026-11-30T17:00:00+00:00", "n": 3}), encoding="utf-8"
    )

    def render(figures: Mapping[str, Any]) -> str:
        return "\n".join(tables.markdown_table(("figure", "value"), [("n", str(figures["n"]))]))

    return doc_block.GeneratedBlock(
        name="figures",
        command="python -m page",
        benchmark="bench",
        render=render,
        what="the figures",
        doc=doc,
        results=tmp_path,
    )


def test_main_shows_writes_and_explains_its_usage(tmp_path: Path) -> None:
    generated = _generated(tmp_path)
    said: list[str] = []
    assert generated.main([], said.append) == 0
    assert said == ["| figure | value |\n|---|---|\n| n | 3 |"]
    assert generated.main(["--write"], said.append) == 0
    assert said[-1] == "wrote the figures of 2026-11-30T17:00:00+00:00 into docs/page.md"
    text = generated.doc.read_text(encoding="utf-8")
    table = "| figure | value |\n|---|---|\n| n | 3 |"
    assert text == f"intro\n{generated.begin}\n{table}\n<!-- figures:end -->\noutro\n"
    assert generated.stale() is None
    assert generated.block(text) == said[0]
    assert generated.main(["--other"], said.append) == 2
    assert said[-1] == "usage: python -m page [--write]"


def test_a_document_without_the_markers_is_refused_by_name(tmp_path: Path) -> None:
    generated = _generated(tmp_path)
    generated.doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"page\.md has no"):
        generated.write(generated.doc, {"n": 1})
    assert generated.doc.read_text(encoding="utf-8") == "no markers\n"


def test_a_block_that_differs_from_its_result_file_is_stale(tmp_path: Path) -> None:
    generated = _generated(tmp_path)
    message = generated.stale()
    assert message is not None
    assert "page.md's block 'figures' differs from bench.json" in message
    assert "run `python -m page --write`" in message


@pytest.mark.parametrize(
    "generated", [summary.GENERATED, entry_rule.GENERATED], ids=lambda g: g.name
)
def test_the_docs_show_the_latest_figures_of_each_generated_block(
    generated: doc_block.GeneratedBlock,
) -> None:
    assert generated.stale() is None, generated.stale()
