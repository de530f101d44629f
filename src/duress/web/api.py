"""The integrators' API, version 1: ingest, the event log, the live stream, badges and devices."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.routing import Route

from duress.domain.accounts import Permission, Principal
from duress.domain.commands import Ingest
from duress.domain.errors import InvalidMessage
from duress.domain.events import StoredEvent, Subject, SubjectKind
from duress.ingest.body_decoding import WHOLE_BATCH, NativeBodyDecoding, is_bulk
from duress.ingest.codecs import native
from duress.service.runtime import Runtime
from duress.web import privacy
from duress.web.auth import accounts_of, authorize, require
from duress.web.deps import RuntimeDep
from duress.web.stream import sse

router = APIRouter(prefix="/api/v1")
SCHEMAS = Path(native.__file__).resolve().parent.parent / "schemas"


@cache
def _batch_schema() -> dict[str, Any]:
    """The shipped JSON Schema of a batch, with its ``$defs`` inlined for the OpenAPI document."""
    schema: dict[str, Any] = json.loads((SCHEMAS / "native-batch.schema.json").read_text())
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(
                    {
                        **defs[ref.removeprefix("#/$defs/")],
                        **{k: v for k, v in node.items() if k != "$ref"},
                    }
                )
            return {k: inline(v) for k, v in node.items() if k not in ("$schema", "$id")}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


class RejectedMessage(BaseModel):
    index: int = Field(description="Position of the message in the batch, from 0.")
    reason: str = Field(description="Stable reason code, see docs/formats.md.")
    detail: str = Field(description="What is wrong and how to fix it.")


class IngestResponse(BaseModel):
    accepted: int = Field(description="Messages taken (presses among them are durably stored).")
    duplicates: int = Field(description="Button events already stored before (badge resends).")
    rejected: list[RejectedMessage]


class EventOut(BaseModel):
    seq: int
    type: str
    ts: str
    subject_kind: str
    subject_id: str
    payload: dict[str, Any]

    @classmethod
    def of(cls, event: StoredEvent) -> EventOut:
        return cls(
            seq=event.seq,
            type=event.type,
            ts=event.ts.isoformat(),
            subject_kind=event.subject.kind.value,
            subject_id=event.subject.id,
            payload=dict(event.payload),
        )


@router.post(
    "/ingest",
    tags=["ingest"],
    summary="Ingest a batch of native messages (sightings, button events, heartbeats)",
    response_model=IngestResponse,
    responses={400: {"description": "The batch as a whole is unreadable (not JSON, too large)"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _batch_schema()}},
        }
    },
)
async def ingest(
    request: Request,
    runtime: RuntimeDep,
    _principal: Annotated[Principal, require(Permission.INGEST)],
) -> IngestResponse:
    return await _ingest(request, runtime)


async def _ingest_route(request: Request) -> Response:
    """``POST /api/v1/ingest`` as served: :func:`ingest` without FastAPI's per-request machinery
    (dependency solving, response validation), which cost a press about 0.2 ms before it reached
    the runtime (decision 14). The same caller check, the same work, the same answer; errors go
    to the app's handlers as from any route. :func:`ingest` stays for the OpenAPI document."""
    runtime: Runtime = request.app.state.runtime
    await authorize(request, Permission.INGEST)
    answer = await _ingest(request, runtime)
    return Response(answer.model_dump_json(), media_type="application/json")


async def _ingest(request: Request, runtime: Runtime) -> IngestResponse:
    body = await request.body()
    if is_bulk(body) and runtime.locates_elsewhere:  # the cheap test first
        return await _ingest_elsewhere(runtime, body)
    batch = native.decode_batch(body)
    decoded = [(i, r) for i, r in enumerate(batch.results) if not isinstance(r, native.Rejection)]
    outcome = await runtime.bus.handle(Ingest(decoded))
    for r in batch.rejections:
        runtime.metrics.rejected.labels(r.reason).inc()
    rejected = sorted(
        [RejectedMessage(index=r.index, reason=r.reason, detail=r.detail) for r in batch.rejections]
        + [
            RejectedMessage(index=r.index, reason=r.reason, detail=r.detail)
            for r in outcome.rejected
        ],
        key=lambda r: r.index,
    )
    return IngestResponse(
        accepted=outcome.accepted, duplicates=outcome.duplicates, rejected=rejected
    )


async def _ingest_elsewhere(runtime: Runtime, body: bytes) -> IngestResponse:
    """A bulk body decoded and located in the location process; what it holds that is not a
    sighting (a heartbeat) is ingested here. While the process is starting again: 503."""
    report, outcome = await runtime.ingest_undecoded([body], _BODY_DECODING)
    rejected = [
        RejectedMessage(index=r.index, reason=r.reason, detail=r.detail) for r in outcome.rejected
    ]
    for index, reason, detail in report.undecoded:
        if index == WHOLE_BATCH:
            runtime.metrics.rejected.labels(reason).inc()
            raise InvalidMessage(reason, detail)
        runtime.metrics.rejected.labels(reason).inc()
        rejected.append(RejectedMessage(index=index, reason=reason, detail=detail))
    accepted, duplicates = outcome.accepted, outcome.duplicates
    if report.others:
        more = await runtime.bus.handle(Ingest(report.others))
        accepted += more.accepted
        duplicates += more.duplicates
        rejected += [
            RejectedMessage(index=r.index, reason=r.reason, detail=r.detail) for r in more.rejected
        ]
    rejected.sort(key=lambda r: r.index)
    return IngestResponse(accepted=accepted, duplicates=duplicates, rejected=rejected)


_BODY_DECODING = NativeBodyDecoding()
# Matched before the documented route above (the same path and method), see _ingest_route.
router.routes.insert(
    0,
    Route(f"{router.prefix}/ingest", _ingest_route, methods=["POST"], include_in_schema=False),
)


@router.get("/events", tags=["events"], summary="Read the event log in sequence order")
async def events(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, require(Permission.READ_EVENTS)],
    after: Annotated[int, Query(ge=0, description="Return events with seq greater than this")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    type: Annotated[list[str] | None, Query(description="Only these event types")] = None,
    subject_kind: Annotated[SubjectKind | None, Query()] = None,
    subject_id: Annotated[str | None, Query()] = None,
) -> list[EventOut]:
    if (subject_kind is None) != (subject_id is None):
        raise InvalidMessage(
            "bad_query", "give subject_kind and subject_id together, or neither of them"
        )
    subject = Subject(subject_kind, subject_id) if subject_kind and subject_id else None
    found = await runtime.read(after=after, limit=limit, types=type, subject=subject)
    shown = privacy.redact_events(runtime, principal, found, privacy.window(request))
    return [EventOut.of(e) for e in shown]


@router.get(
    "/stream",
    tags=["events"],
    summary="Live events as server-sent events; reconnect with Last-Event-ID to resume",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, require(Permission.READ_ALERTS)],
    last_event_id: Annotated[int | None, Header()] = None,
    after: Annotated[
        int | None, Query(ge=0, description="Replay events after this seq first")
    ] = None,
) -> StreamingResponse:
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(
        sse(runtime, start, privacy.stream_filter(runtime, principal, privacy.window(request))),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/badges",
    tags=["badges"],
    summary="Where each located badge is now (as far as the privacy rule lets you see)",
)
async def badges(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, require(Permission.READ_LOCATIONS)],
) -> dict[str, dict[str, Any]]:
    snapshot = runtime.locator.snapshot(runtime.clock.now())
    shown = privacy.visible_locations(runtime, principal, snapshot, privacy.window(request))
    await accounts_of(request).viewed(principal, privacy.wearers(runtime, shown), via="api")
    return shown


@router.get("/devices", tags=["devices"], summary="Supervision state of every device")
async def devices(
    runtime: RuntimeDep, _principal: Annotated[Principal, require(Permission.READ_DEVICES)]
) -> list[dict[str, Any]]:
    out = []
    for state in runtime.health.states():
        device = runtime.site.devices[state.device]
        out.append(
            {
                "device": state.device,
                "kind": device.kind.value,
                "floor": device.floor,
                "area": device.area,
                "status": state.status.value,
                "last_seen": state.last_seen.isoformat() if state.last_seen else None,
                "battery": state.battery,
                "heartbeat_s": device.heartbeat_s,
                **runtime.supervision.device_fields(state.device),
            }
        )
    return out
