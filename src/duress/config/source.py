"""Reading YAML with positions: every value keeps the file and line it came from.

The loader composes YAML nodes (``yaml.compose``) rather than loading plain Python objects, so that
a problem found anywhere can be reported as ``facility.yaml:42: facility.floors[2]...``. A site is
one file or a folder of ``*.yaml`` files; a folder's files are merged by top-level section (see
:func:`read_source`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

Scalar = str | int | float | bool | None


@dataclass(slots=True)
class Node:
    """A YAML value with its position.

    ``value`` is a ``dict[str, Node]`` for a mapping, a ``list[Node]`` for a sequence, else a
    scalar.
    ``raw`` is a scalar's source text (so ``19:00``, which YAML 1.1 reads as the number 1140, can
    still be read as a time). ``key_lines`` gives the line of each key of a mapping.
    """

    value: object
    file: str
    line: int
    raw: str | None = None
    key_lines: dict[str, int] = field(default_factory=dict)

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is_scalar(self) -> bool:
        return not (self.is_mapping or self.is_sequence)

    def items(self) -> Iterator[tuple[str, Node]]:
        if isinstance(self.value, dict):
            yield from self.value.items()

    def children(self) -> list[Node]:
        return list(self.value) if isinstance(self.value, list) else []

    def get(self, key: str) -> Node | None:
        return self.value.get(key) if isinstance(self.value, dict) else None

    def plain(self) -> object:
        """The value as plain Python (dicts, lists, scalars), positions dropped."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int


class SourceError(Exception):
    """The YAML cannot be read (syntax error, missing file). ``problems`` as in ConfigError."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Loader(yaml.SafeLoader):
    """SafeLoader, used only to compose nodes and to construct scalars with the safe resolver."""


def _convert(node: yaml.Node, loader: _Loader, file: str) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<: *anchor)
        out: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_text = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key)
            if not isinstance(key, str):
                key = str(key_text)
            if key in out:
                # reported by the validator through this sentinel key
                out[f"\x00duplicate:{key}"] = Node(key, file, key_node.start_mark.line + 1)
                continue
            out[key] = _convert(value_node, loader, file)
            key_lines[key] = key_node.start_mark.line + 1
        return Node(out, file, line, key_lines=key_lines)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, loader, file) for item in node.value], file, line)
    assert isinstance(node, yaml.ScalarNode)
    value = loader.construct_object(node, deep=True)
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    elif isinstance(value, bytes):
        value = node.value
    return Node(value, file, line, raw=str(node.value))


def parse_yaml(text: str, file: str) -> Node | None:
    """Compose one YAML document into positioned nodes; None for an empty document.

    Raises :class:`SourceError` naming the file and line of a syntax error.
    """
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        return None if root is None else _convert(root, loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context or "invalid YAML"
        return _raise(f"{file}:{line}: YAML syntax: {what}; fix the YAML at that line")
    except yaml.YAMLError as exc:
        return _raise(f"{file}:1: YAML syntax: {exc}")
    finally:
        loader.dispose()


def _raise(problem: str) -> Node | None:
    raise SourceError([problem])


def site_files(path: Path) -> list[Path]:
    """The YAML files of a site: the file itself, or a folder's ``*.yaml``/``*.yml`` by name."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def read_source(path: Path) -> Node:
    """Read a site file or folder into one positioned top-level mapping.

    A folder's files are merged by top-level section. When two files hold the same section: two
    sequences are concatenated (``devices`` may be split per floor); two mappings are merged key by
    key with the same rule one level down (``facility.floors`` in one file,
    ``facility.buildings`` in another); anything else is a problem naming both files.
    """
    if not path.exists():
        raise SourceError(
            [f"{path}: no such file or folder; give a site YAML file or a folder of them"]
        )
    files = site_files(path)
    if not files:
        raise SourceError([f"{path}: the folder holds no *.yaml files; put site.yaml etc. there"])
    problems: list[str] = []
    merged = Node({}, str(files[0]), 1)
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(
                f"{file}:1: cannot read the file ({exc}); check its permissions/encoding"
            )
            continue
        try:
            root = parse_yaml(text, str(file))
        except SourceError as exc:
            problems.extend(exc.problems)
            continue
        if root is None:
            continue
        if not root.is_mapping:
            problems.append(
                f"{file}:{root.line}: the document must be a mapping of sections "
                "(site, facility, devices, people, routing, server), not a list or a value"
            )
            continue
        _merge(merged, root, "", problems, depth=0)
    if problems:
        raise SourceError(problems)
    return merged


def _merge(into: Node, new: Node, prefix: str, problems: list[str], depth: int) -> None:
    assert isinstance(into.value, dict)
    for key, value in new.items():
        existing = into.value.get(key)
        if existing is None or key.startswith("\x00"):
            into.value[key] = value
            into.key_lines.setdefault(key, new.key_lines.get(key, value.line))
            continue
        where = f"{prefix}{key}"
        if isinstance(existing.value, list) and isinstance(value.value, list):
            existing.value.extend(value.value)
        elif existing.is_mapping and value.is_mapping and depth == 0:
            _merge(existing, value, where + ".", problems, depth + 1)
        else:
            problems.append(
                f"{value.file}:{value.line}: {where}: also defined in "
                f"{existing.file}:{existing.line}; keep it in one file"
            )
