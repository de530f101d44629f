"""A durable local spool for when the event store cannot be reached.

While the store is down, presses and alert steps are still acknowledged and acted on: their events
are appended here first (one JSON line each, fsynced before returning), and written to the store, in
order, when it answers again. A spool left behind by a crash is flushed at the next start, before
anything else is read. One file; one writer at a time (a lock).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from duress.domain.errors import StoreUnavailable
from duress.domain.events import NewEvent, Subject, SubjectKind
from duress.store import records
from duress.store.base import Timers


@dataclass(frozen=True, slots=True)
class Spooled:
    """One batch as it was to be appended: its events and its timer changes."""

    events: list[NewEvent]
    timers: dict[str, datetime | None]


class Spool:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, events: Sequence[NewEvent], timers: Timers | None = None) -> None:
        """Append one batch durably (fsynced) or raise StoreUnavailable naming the file."""
        rows = records.encode(events)
        due = records.check_timers(timers)
        line = json.dumps(
            {
                "events": [
                    {
                        "type": r.type,
                        "ts": records.format_ts(r.ts),
                        "subject_kind": r.subject_kind,
                        "subject_id": r.subject_id,
                        "payload": json.loads(r.payload),
                    }
                    for r in rows
                ],
                "timers": {k: records.format_ts(v) if v else None for k, v in due.items()},
            },
            separators=(",", ":"),
        )
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
                    out.flush()
                    os.fsync(out.fileno())
        except OSError as error:
            raise StoreUnavailable(
                f"the event store is down and the spool {self.path} cannot be written: {error}"
            ) from error

    def pending(self) -> list[Spooled]:
        """Every batch waiting, oldest first (a torn last line from a crash is skipped)."""
        with self._lock:
            if not self.path.exists():
                return []
            text = self.path.read_text(encoding="utf-8")
        batches = []
        for line in text.splitlines():
            try:
                data: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError:
                continue  # the write that was interrupted was never acknowledged
            batches.append(
                Spooled(
                    events=[
                        NewEvent(
                            type=e["type"],
                            ts=records.parse_ts(e["ts"]),
                            subject=Subject(SubjectKind(e["subject_kind"]), e["subject_id"]),
                            payload=e["payload"],
                        )
                        for e in data["events"]
                    ],
                    timers={
                        k: records.parse_ts(v) if v else None for k, v in data["timers"].items()
                    },
                )
            )
        return batches

    def count(self) -> int:
        return sum(len(b.events) for b in self.pending())

    def clear(self) -> None:
        with self._lock:
            self.path.unlink(missing_ok=True)
