"""The site's ``location:`` section: location engine parameters that replace the defaults.

::

    location:
      ir_one_hit_m: 2          # one IR code enters a room when BLE agrees: a second sooner
      unknown_after_s: 300     # keep the last-known place for five minutes

Each key is a parameter of :class:`~duress.domain.location_params.LocationParams` (documented,
with its default and the reason for it, in docs/location.md, "Parameters"); the value must have
the parameter's type (a number, a whole number, or true/false). Problems are reported like the
rest of the loader (file, line, key path, fix).
"""

from __future__ import annotations

from dataclasses import fields

from duress.config.reader import Reader
from duress.config.source import Node
from duress.domain.location_params import LocationParams

PARAMETER_TYPES = {f.name: str(f.type) for f in fields(LocationParams)}
"""Each parameter's type as written in the dataclass: ``float``, ``int`` or ``bool``."""


def read_location_section(node: Node, r: Reader) -> dict[str, float | int | bool]:
    """The section's parameters, each checked against its type (problems recorded in ``r``)."""
    m = r.mapping(node, "location", tuple(PARAMETER_TYPES))
    if m is None:
        return {}
    out: dict[str, float | int | bool] = {}
    for key, child in m.items():
        path = f"location.{key}"
        kind = PARAMETER_TYPES[key]
        value: float | int | bool | None
        if kind == "bool":
            value = r.boolean(child, path)
        elif kind == "int":
            value = r.integer(child, path, minimum=0)
        else:
            value = r.number(child, path)
        if value is not None:
            out[key] = value
    return out
