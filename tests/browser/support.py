"""The live server the browser tests drive, and raising presses on it as a gateway would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

_seq = itertools.count(1)


@dataclass
class LiveServer:
    url: str
    ingest: dict[str, str] = field(default_factory=dict)
    """Headers with a gateway's ingest token."""
    reader: dict[str, str] = field(default_factory=dict)
    """Headers with an admin's read and act token (to look alerts up, and to tidy up)."""

    def post(self, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=headers, timeout=5)

    def get(self, path: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.get(self.url + path, headers=headers, timeout=5)


def press(server: LiveServer, badge: str, device: str, presses: int = 3) -> None:
    """An IR sighting of ``badge`` by ``device`` (so the press has a room), then the press."""
    now = datetime.now(UTC).isoformat()
    messages = [
        {"type": "sighting", "ts": now, "badge": badge, "device": device, "kind": "ir"},
        {"type": "button", "ts": now, "badge": badge, "seq": next(_seq), "presses": presses},
    ]
    response = server.post("/api/v1/ingest", {"messages": messages}, server.ingest)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2, response.text


def alert_of(server: LiveServer, staff_name: str) -> str:
    """The id of the open alert of ``staff_name``."""
    alerts = server.get("/api/v1/alerts", server.reader).json()
    [found] = [a["id"] for a in alerts if a["staff_name"] == staff_name]
    return str(found)
