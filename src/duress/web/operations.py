"""Endpoints for operators and orchestrators: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from duress.web.deps import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process is up and serving")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the event store and the MQTT broker are reachable",
    responses={503: {"description": "A dependency is not reachable; `checks` says which and why"}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.readiness()
    ready = runtime.started and all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
