"""A benchmark's figures as tables: Markdown lines for docs/benchmarks.md, a Rich table for the
console (``make bench``), from the same headers and rows of cell text."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rich.table import Table


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _plain(text: str) -> str:
    return text.replace("`", "").replace("*", "")


def console_table(
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    caption: str,
    *,
    cell: Callable[[str], str] = lambda text: text,
    headers_word_a_line: bool = False,
    min_width: int | None = None,
) -> Table:
    """The rows for a terminal: Markdown's marks dropped; ``cell`` reshapes each cell (a part a
    line keeps columns narrow); with ``headers_word_a_line`` each header word on a line of its
    own and no column wrapped, the first column at its own width and the others at least
    ``min_width``."""
    out = Table(title=title)
    for k, header in enumerate(headers):
        if headers_word_a_line:
            out.add_column(
                header.replace(" ", "\n"), no_wrap=True, min_width=min_width if k else None
            )
        else:
            out.add_column(header, no_wrap=k == 0, min_width=min_width if k else None)
    for row in rows:
        out.add_row(*(cell(_plain(text)) for text in row))
    out.caption = _plain(caption)
    return out
