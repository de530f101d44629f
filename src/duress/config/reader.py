"""Typed readers over positioned YAML nodes, collecting every problem rather than the first.

Each reader takes a :class:`~duress.config.source.Node` and the key path it sits at (for example
``facility.floors[2].areas[5].polygon``), returns the converted value or ``None``, and records a
problem of the form ``file:line: path: what is wrong; how to fix it`` when the value is bad.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable
from enum import StrEnum
from typing import TypeVar

from duress.config.source import Node

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def one_of(choices: Iterable[str], limit: int = 12) -> str:
    items = sorted(set(choices))
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def show(node: Node) -> str:
    """The bad value as the user wrote it, short."""
    if node.raw is not None:
        text = repr(node.value) if isinstance(node.value, str) else node.raw
    elif node.is_mapping:
        text = "a mapping {...}"
    elif node.is_sequence:
        text = f"a list of {len(node.children())}"
    else:
        text = repr(node.value)
    return text if len(text) <= 60 else text[:57] + "..."


class Problems:
    """Collects problems; each is one line naming the file, the line, the key path and the fix."""

    def __init__(self) -> None:
        self.items: list[tuple[str, int, str]] = []

    def add(self, node: Node, path: str, message: str, line: int | None = None) -> None:
        self.items.append((node.file, line or node.line, f"{path}: {message}" if path else message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def lines(self) -> list[str]:
        """Every problem, sorted by file and line, duplicates removed."""
        seen: set[tuple[str, int, str]] = set()
        out: list[str] = []
        for file, line, text in sorted(self.items, key=lambda p: (p[0], p[1])):
            if (file, line, text) not in seen:
                seen.add((file, line, text))
                out.append(f"{file}:{line}: {text}")
        return out


class Reader:
    """Typed readers that record problems in :attr:`problems`."""

    def __init__(self, problems: Problems | None = None) -> None:
        self.problems = problems if problems is not None else Problems()

    def fail(self, node: Node, path: str, message: str, line: int | None = None) -> None:
        self.problems.add(node, path, message, line)

    # -- structure -----------------------------------------------------------------------------

    def mapping(
        self,
        node: Node | None,
        path: str,
        keys: Collection[str],
        required: Collection[str] = (),
        what: str = "a mapping",
    ) -> dict[str, Node] | None:
        """The mapping's entries, after reporting unknown, duplicate and missing keys."""
        if node is None:
            return None
        if not isinstance(node.value, dict):
            self.fail(node, path, f"{show(node)} is not {what}; write it as `key: value` lines")
            return None
        out: dict[str, Node] = {}
        for key, child in node.value.items():
            if key.startswith("\x00duplicate:"):
                real = key.removeprefix("\x00duplicate:")
                self.fail(child, _join(path, real), "the key appears twice; keep one", child.line)
                continue
            if key not in keys:
                line = node.key_lines.get(key, child.line)
                hint = suggest(key, keys) or f"; the keys here are: {one_of(keys)}"
                self.fail(child, _join(path, key), f"unknown key {key!r}{hint}", line)
                continue
            out[key] = child
        for key in required:
            if key not in out and key not in node.value:
                self.fail(node, path, f"missing required key {key!r}; add `{key}: ...`")
        return out

    def sequence(self, node: Node | None, path: str, what: str = "a list") -> list[Node]:
        if node is None:
            return []
        if node.value is None:
            return []
        if not isinstance(node.value, list):
            self.fail(
                node, path, f"{show(node)} is not {what}; write it as `- item` lines or [a, b]"
            )
            return []
        return list(node.value)

    def each(
        self,
        node: Node | None,
        path: str,
        read: Callable[[Node, str], T | None],
        *,
        empty: str | None = None,
    ) -> list[T]:
        """``read`` every item of the list at ``path`` (``path[i]``), keeping what it returns.

        With ``empty``, a list written but empty is a problem with that fix."""
        items = self.sequence(node, path)
        written_empty = node is not None and (node.value is None or node.value == [])
        if empty is not None and written_empty and node is not None:
            self.fail(node, path, f"is empty; {empty}")
        found = (read(item, f"{path}[{i}]") for i, item in enumerate(items))
        return [x for x in found if x is not None]

    # -- scalars -------------------------------------------------------------------------------

    def text(self, node: Node | None, path: str, *, empty_ok: bool = False) -> str | None:
        """A string; a number written where a string is expected (``id: 101``) is read as text."""
        if node is None:
            return None
        value = node.value
        if isinstance(value, bool) or value is None or not node.is_scalar:
            if value is None and empty_ok:
                return None
            self.fail(node, path, f"{show(node)} is not text; write a string (quote it if needed)")
            return None
        if isinstance(value, int | float):
            return node.raw if node.raw is not None else str(value)
        assert isinstance(value, str)
        if not value.strip() and not empty_ok:
            self.fail(node, path, "is empty; write a value or leave the key out")
            return None
        return value

    def ident(self, node: Node | None, path: str) -> str | None:
        value = self.text(node, path)
        if value is None or node is None:
            return None
        if not ID_PATTERN.match(value):
            self.fail(
                node,
                path,
                f"{value!r} is not a valid id; use letters, digits, '-', '_', '.' or ':' "
                "starting with a letter or digit, no spaces",
            )
            return None
        return value

    def name(self, node: Node | None, path: str, what: str) -> str | None:
        """A lower-case snake_case name such as a role or a channel."""
        value = self.text(node, path)
        if value is None or node is None:
            return None
        if not NAME_PATTERN.match(value):
            fixed = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
            self.fail(
                node, path, f"{value!r} is not a valid {what}; write it in snake_case: {fixed!r}"
            )
            return None
        return value

    def number(
        self,
        node: Node | None,
        path: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_min: bool = False,
        unit: str = "",
    ) -> float | None:
        if node is None:
            return None
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(node, path, f"{show(node)} is not a number; write a number{unit}")
            return None
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(node, path, f"{show(node)} is not a finite number; write a number{unit}")
            return None
        low_bad = minimum is not None and (number <= minimum if exclusive_min else number < minimum)
        if low_bad or (maximum is not None and number > maximum):
            self.fail(
                node,
                path,
                f"{show(node)} is out of range; {_range(minimum, maximum, exclusive_min)}",
            )
            return None
        return number

    def integer(
        self,
        node: Node | None,
        path: str,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        if node is None:
            return None
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, path, f"{show(node)} is not a whole number; write an integer such as 3")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.fail(node, path, f"{value} is out of range; {_range(minimum, maximum, False)}")
            return None
        return value

    def boolean(self, node: Node | None, path: str) -> bool | None:
        if node is None:
            return None
        if not isinstance(node.value, bool):
            self.fail(node, path, f"{show(node)} is not true/false; write true or false")
            return None
        return node.value

    def enum(self, node: Node | None, path: str, kind: type[E]) -> E | None:
        if node is None:
            return None
        value = self.text(node, path)
        if value is None:
            return None
        choices = [m.value for m in kind]
        if value not in choices:
            hint = suggest(value, choices)
            self.fail(
                node,
                path,
                f"{value!r} is not a valid {_label(kind)}{hint}; use one of: {', '.join(choices)}",
            )
            return None
        return kind(value)

    def texts(
        self, node: Node | None, path: str, *, ids: bool = False
    ) -> list[tuple[str, Node, str]]:
        """A list of strings (a single string is accepted as a list of one): (value, node, path)."""
        if node is None or node.value is None:
            return []
        items = [node] if node.is_scalar else self.sequence(node, path)
        out: list[tuple[str, Node, str]] = []
        for i, item in enumerate(items):
            item_path = path if node.is_scalar else f"{path}[{i}]"
            value = self.ident(item, item_path) if ids else self.text(item, item_path)
            if value is not None:
                out.append((value, item, item_path))
        return out

    # -- geometry ------------------------------------------------------------------------------

    def point(self, node: Node | None, path: str) -> tuple[float, float] | None:
        if node is None:
            return None
        items = node.value if isinstance(node.value, list) else None
        if items is None or len(items) != 2:
            self.fail(node, path, f"{show(node)} is not a point; write [x, y] in metres")
            return None
        x = self.number(items[0], f"{path}[0]", unit=" (metres)")
        y = self.number(items[1], f"{path}[1]", unit=" (metres)")
        return None if x is None or y is None else (x, y)

    def polygon(self, node: Node | None, path: str) -> tuple[tuple[float, float], ...] | None:
        """A list of [x, y] vertices; a closing vertex equal to the first is dropped."""
        if node is None:
            return None
        if not isinstance(node.value, list):
            self.fail(
                node, path, f"{show(node)} is not a polygon; write [[x, y], [x, y], [x, y], ...]"
            )
            return None
        points: list[tuple[float, float]] = []
        ok = True
        for i, item in enumerate(node.value):
            p = self.point(item, f"{path}[{i}]")
            if p is None:
                ok = False
            else:
                points.append(p)
        if not ok:
            return None
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()
        if len(points) < 3:
            self.fail(
                node,
                path,
                f"has {len(points)} distinct point(s); a polygon needs at least 3 [x, y] vertices "
                "(or use `rect: [x, y, width, height]`)",
            )
            return None
        return tuple(points)

    def rect(self, node: Node | None, path: str) -> tuple[tuple[float, float], ...] | None:
        """``[x, y, width, height]`` as a 4-vertex polygon, counter-clockwise from (x, y)."""
        if node is None:
            return None
        items = node.value if isinstance(node.value, list) else None
        if items is None or len(items) != 4:
            self.fail(
                node,
                path,
                f"{show(node)} is not a rectangle; write [x, y, width, height] in metres",
            )
            return None
        x = self.number(items[0], f"{path}[0]")
        y = self.number(items[1], f"{path}[1]")
        w = self.number(items[2], f"{path}[2]", minimum=0, exclusive_min=True, unit=" > 0 (width)")
        h = self.number(items[3], f"{path}[3]", minimum=0, exclusive_min=True, unit=" > 0 (height)")
        if x is None or y is None or w is None or h is None:
            return None
        return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _label(kind: type[StrEnum]) -> str:
    words = re.findall(r"[A-Z][a-z]*", kind.__name__)
    return " ".join(w.lower() for w in words) if words else kind.__name__


def _range(minimum: float | None, maximum: float | None, exclusive: bool) -> str:
    if minimum is not None and maximum is not None:
        return f"write a value from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"write a value {'above' if exclusive else 'of at least'} {minimum:g}"
    if maximum is not None:
        return f"write a value of at most {maximum:g}"
    return "write a valid value"
