"""omlox-style HTTP ingest: ``PUT /providers/{provider_id}/location`` and ``.../proximity``.

The body is one omlox Location or Proximity object (see ``docs/formats.md``); its ``provider_id``
must match the path's. It is decoded with :mod:`duress.ingest.codecs.omlox`, mapped with the site's
``ingest.omlox`` mapping and handed to :meth:`Runtime.ingest`. Answers: 204 when accepted, 422 with
``{"reason", "detail"}`` when rejected (counted in ``duress_ingest_rejected_total``), 404 when the
site maps no omlox source.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from duress.domain.errors import InvalidMessage
from duress.domain.ingest_mapping import OmloxSource
from duress.domain.observations import Sighting
from duress.ingest.codecs import omlox


def omlox_router(runtime: Any, mapping: OmloxSource | None = None) -> APIRouter:
    """A router with the two omlox PUT routes; ``mapping`` defaults to ``runtime.site.ingest.omlox``."""
    source = mapping if mapping is not None else runtime.site.ingest.omlox
    router = APIRouter(tags=["omlox"])

    async def put(kind: str, provider_id: str, request: Request) -> Response:
        if source is None:
            return _problem(404, "not_configured", "the site has no ingest.omlox mapping")
        body = await request.body()
        now = runtime.clock.now()
        try:
            record: omlox.OmloxLocation | omlox.OmloxProximity = (
                omlox.decode_location(body, received_at=now)
                if kind == "location"
                else omlox.decode_proximity(body, received_at=now)
            )
            if record.provider_id != provider_id:
                raise InvalidMessage(
                    "bad_value",
                    f"provider_id {record.provider_id!r} in the body is not {provider_id!r} "
                    "of the path; send one provider's object to its own URL",
                )
            sighting: Sighting = omlox.to_sighting(
                record,
                omlox.OmloxMapping(
                    source.sources,
                    source.providers,
                    source.kinds,
                    source.default_kind,
                    source.gateway,
                ),
            )
        except InvalidMessage as error:
            runtime.metrics.rejected.labels(error.reason).inc()
            return _problem(422, error.reason, error.detail)
        outcome = await runtime.ingest([(0, sighting)])
        if outcome.rejected:
            first = outcome.rejected[0]
            return _problem(422, first.reason, first.detail)
        return Response(status_code=204)

    @router.put("/providers/{provider_id}/location", status_code=204)
    async def put_location(provider_id: str, request: Request) -> Response:
        """An omlox Location object of one provider (tag)."""
        return await put("location", provider_id, request)

    @router.put("/providers/{provider_id}/proximity", status_code=204)
    async def put_proximity(provider_id: str, request: Request) -> Response:
        """An omlox Proximity object of one provider (tag): e.g. an IR room fix."""
        return await put("proximity", provider_id, request)

    return router


def _problem(status: int, reason: str, detail: str) -> JSONResponse:
    return JSONResponse({"reason": reason, "detail": detail}, status_code=status)
