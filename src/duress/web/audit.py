"""The audit log (who signed in, who acted, who saw whose location) and the privacy filters.

The audit log is a view of the event log: the account, token, session, access and location-view
events and every action on an alert. Auditors (and admins) read it as JSON or export it as CSV.
The privacy filters are in :mod:`duress.web.privacy`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from duress.domain.accounts import Permission, Principal
from duress.domain.events import (
    AccessDenied,
    AccountCreated,
    AccountDisabled,
    AlertAccepted,
    AlertAcknowledged,
    AlertCancelled,
    AlertDeclined,
    AlertOnScene,
    AlertResolved,
    LocationViewed,
    PasswordChanged,
    SignedIn,
    SignedOut,
    SignInFailed,
    StoredEvent,
    TokenIssued,
    TokenRevoked,
)
from duress.web.api import EventOut
from duress.web.auth import require
from duress.web.deps import RuntimeDep

AUDIT_TYPES: tuple[str, ...] = tuple(
    cls.type
    for cls in (
        AccountCreated,
        AccountDisabled,
        PasswordChanged,
        TokenIssued,
        TokenRevoked,
        SignedIn,
        SignedOut,
        SignInFailed,
        AccessDenied,
        LocationViewed,
        AlertAccepted,
        AlertDeclined,
        AlertAcknowledged,
        AlertOnScene,
        AlertResolved,
        AlertCancelled,
    )
)
"""The event types the audit log shows."""

router = APIRouter(prefix="/api/v1", tags=["audit"])
AuditReader = Annotated[Principal, require(Permission.READ_AUDIT)]


@router.get("/audit", summary="The audit log: sign-ins, account changes, actions, location views")
async def audit(
    runtime: RuntimeDep,
    _principal: AuditReader,
    after: Annotated[int, Query(ge=0, description="Entries with seq greater than this")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[EventOut]:
    found = await runtime.read(after=after, limit=limit, types=AUDIT_TYPES)
    return [EventOut.of(e) for e in found]


@router.get(
    "/audit.csv",
    summary="The audit log as CSV (seq, ts, type, subject, by, detail)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def audit_csv(
    runtime: RuntimeDep,
    _principal: AuditReader,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    found = await runtime.read(after=after, limit=limit, types=AUDIT_TYPES)
    return Response(
        to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="duress-audit.csv"'},
    )


def to_csv(events: Iterable[StoredEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["seq", "ts", "type", "subject_kind", "subject_id", "by", "detail"])
    for e in events:
        payload = dict(e.payload)
        by = payload.get("by") or payload.get("who") or payload.get("user") or ""
        writer.writerow(
            [
                e.seq,
                e.ts.isoformat(),
                e.type,
                e.subject.kind.value,
                _cell(e.subject.id),
                _cell(str(by)),
                _cell(json.dumps(payload, sort_keys=True)),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Defuse spreadsheet formulas (CSV injection): a leading = + - @ gets a quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
