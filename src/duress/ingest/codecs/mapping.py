"""Tying a wild format's ids to ours: one lookup rule shared by every mapping object.

Each wild-format codec has a small frozen mapping dataclass (ESPresense rooms and device ids,
OpenMQTTGateway gateways and beacons, ...). A missing entry raises ``InvalidMessage`` with reason
``unmapped_locator`` (the room/node/gateway/zone is not one of our devices) or ``unmapped_badge``
(the tracked thing is not one of our badges: often a phone or a watch that is not enrolled), so
the MQTT shell can count and report them instead of dropping them silently.
"""

from __future__ import annotations

from collections.abc import Mapping

from duress.domain.errors import InvalidMessage
from duress.ingest.codecs.fields import show


def locator(table: Mapping[str, str], key: str, what: str, setting: str) -> str:
    """Our device id for ``key`` (a room, node, gateway or zone), or ``unmapped_locator``."""
    found = table.get(key)
    if found is None:
        raise InvalidMessage(
            "unmapped_locator",
            f"{what} {show(key)} is not mapped to a device; add it to the mapping's {setting!r}",
        )
    return found


def badge(table: Mapping[str, str], keys: tuple[str | None, ...], what: str, setting: str) -> str:
    """Our badge id for the first of ``keys`` found in ``table``, or ``unmapped_badge``."""
    for key in keys:
        if key is not None:
            found = table.get(key)
            if found is not None:
                return found
    shown = " / ".join(show(k) for k in keys if k is not None) or "(no id)"
    raise InvalidMessage(
        "unmapped_badge",
        f"{what} {shown} is not mapped to a badge; add it to the mapping's {setting!r} "
        "if it is one of ours",
    )
