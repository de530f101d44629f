"""A benchmark's figures as a Markdown table for the docs and a Rich table for the console."""

from __future__ import annotations

from rich.console import Console

from benchmarks import tables

HEADERS = ("scenario", "room acc.")
ROWS = [("`icu`", "0.991 ✗ (0.884)"), ("`ed`", "0.994 ✗ (0.881)")]


def _text(table: object, width: int = 60) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_a_markdown_table_has_a_header_a_rule_and_a_line_a_row() -> None:
    assert tables.markdown_table(HEADERS, ROWS) == [
        "| scenario | room acc. |",
        "|---|---|",
        "| `icu` | 0.991 ✗ (0.884) |",
        "| `ed` | 0.994 ✗ (0.881) |",
    ]
    assert tables.markdown_table(HEADERS, []) == ["| scenario | room acc. |", "|---|---|"]


def test_the_console_table_drops_markdown_marks_and_reshapes_cells() -> None:
    table = tables.console_table(
        "figures",
        HEADERS,
        ROWS,
        "*Evidence*: see `docs`",
        cell=lambda text: text.replace(" (", "\n("),
    )
    text = _text(table)
    assert "`" not in text
    assert "Evidence: see docs" in text
    lines = [line for line in text.splitlines() if "icu" in line or "(0.884)" in line]
    assert len(lines) == 2  # the baseline on a line of its own
    assert table.columns[0].no_wrap
    assert not table.columns[1].no_wrap


def test_headers_a_word_a_line_and_a_minimum_width() -> None:
    table = tables.console_table(
        "figures", HEADERS, ROWS, "", headers_word_a_line=True, min_width=12
    )
    assert str(table.columns[1].header) == "room\nacc."
    assert all(column.no_wrap for column in table.columns)
    assert table.columns[0].min_width is None
    assert table.columns[1].min_width == 12
