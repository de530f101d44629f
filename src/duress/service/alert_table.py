"""The alerts the desk holds in memory, with the open ones indexed.

Closed alerts stay in memory for an hour (the board shows recent history), so the table can hold
thousands of them on a busy day or during a drill. Everything on the press path (is this badge
already in an alert? which alerts may this press join? the working copy a decision folds into)
needs only the open ones: the table keeps them apart so that path costs the same with ten closed
alerts as with ten thousand.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from datetime import datetime

from duress.domain.alert import Alert


class AlertTable(MutableMapping[str, Alert]):
    """Alerts by id; ``open`` and ``closed`` are kept apart, each in the order they got there."""

    def __init__(self) -> None:
        self._all: dict[str, Alert] = {}
        self._open: dict[str, Alert] = {}
        self._closed: dict[str, Alert] = {}

    def __getitem__(self, alert_id: str) -> Alert:
        return self._all[alert_id]

    def __setitem__(self, alert_id: str, alert: Alert) -> None:
        self._all[alert_id] = alert
        if alert.is_open:
            self._closed.pop(alert_id, None)
            self._open[alert_id] = alert
        else:
            self._open.pop(alert_id, None)
            self._closed[alert_id] = alert  # a new one goes last: closed in the order they closed

    def __delitem__(self, alert_id: str) -> None:
        del self._all[alert_id]
        self._open.pop(alert_id, None)
        self._closed.pop(alert_id, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, alert_id: object) -> bool:
        return alert_id in self._all

    def get_open(self) -> list[Alert]:
        """The open alerts, in the order they were raised (or reopened)."""
        return list(self._open.values())

    def working_copy(self) -> dict[str, Alert]:
        """A copy of the open alerts for a decision to fold its events into (it adds the alerts it
        raises or loads; closed ones never take part in a decision)."""
        return dict(self._open)

    def closed_before(self, cutoff: datetime) -> list[str]:
        """Ids of closed alerts that closed before ``cutoff``, oldest first."""
        gone: list[str] = []
        for alert_id, alert in self._closed.items():
            if alert.closed_at is None:
                continue
            if alert.closed_at >= cutoff:
                break  # kept in the order they closed: the rest closed later
            gone.append(alert_id)
        return gone
