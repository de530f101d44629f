"""Writing site YAML that stays pleasant to read and edit by hand.

Coordinates and other lists of scalars are written on one line (``[[0, 0], [4, 0], ...]``), small
mappings of scalars as ``{id: b-0001, staff: n-0001}``, everything else in block style.
"""

from __future__ import annotations

from typing import Any

import yaml

FLOW_MAPPING_MAX_KEYS = 3
"""A mapping without ``id`` is written on one line only up to this many keys."""
FLOW_MAX_CHARS = 110
"""Longer mappings and lists are written in block style (lists of points always flow)."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # no &id001 anchors: every value written out in full

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # indent list items under their key, as people write them
        super().increase_indent(flow, False)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_flat(value: object) -> bool:
    """Scalars, and lists/mappings of them (nested): candidates for flow style."""
    if _is_scalar(value):
        return True
    if isinstance(value, list | tuple):
        return all(_is_flat(v) for v in value)
    if isinstance(value, dict):
        return all(_is_flat(v) for v in value.values())
    return False


def _length(value: object) -> int:
    """Roughly how many characters ``value`` takes in flow style."""
    if isinstance(value, dict):
        return 2 + sum(len(str(k)) + 4 + _length(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 2 + sum(_length(v) + 2 for v in value)
    return len(str(value))


def _represent_list(dumper: yaml.SafeDumper, data: Any) -> yaml.Node:
    flow = _is_flat(data) and (
        _length(data) <= FLOW_MAX_CHARS or all(isinstance(v, list | tuple) for v in data)
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    small = "id" in data or len(data) <= FLOW_MAPPING_MAX_KEYS
    flow = small and _is_flat(data) and _length(data) <= FLOW_MAX_CHARS
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_float(dumper: yaml.SafeDumper, data: float) -> yaml.Node:
    if data == int(data) and abs(data) < 1e15:
        return dumper.represent_int(int(data))
    return dumper.represent_scalar("tag:yaml.org,2002:float", f"{data:.10g}")


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)
_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(float, _represent_float)


def dump_yaml(data: object, header: str = "") -> str:
    """``data`` as YAML text, keys in the order given; ``header`` lines become ``#`` comments."""
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=140)
    if header:
        text = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + text
    return text
