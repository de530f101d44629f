"""Errors as RFC 9457 problem+json, mapped from the one error hierarchy in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from duress.domain.errors import (
    ConfigError,
    DuressError,
    IllegalTransition,
    InvalidMessage,
    LocationUnavailable,
    NotFound,
    StoreUnavailable,
)

STATUS: dict[type[DuressError], tuple[int, str]] = {
    InvalidMessage: (400, "Invalid message"),
    NotFound: (404, "Not found"),
    IllegalTransition: (409, "Not allowed in the current state"),
    StoreUnavailable: (503, "Event store unavailable"),
    LocationUnavailable: (503, "Location engine unavailable"),
    ConfigError: (500, "Configuration error"),
}


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install(app: FastAPI) -> None:
    @app.exception_handler(DuressError)
    async def _duress_error(_request: Request, error: DuressError) -> JSONResponse:
        for cls in type(error).__mro__:
            if cls in STATUS:
                status, title = STATUS[cls]
                break
        else:
            status, title = 500, "Internal error"
        extra = {"reason": error.reason} if isinstance(error, InvalidMessage) else {}
        return problem(status, title, str(error), **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        return problem(422, "Invalid request", details)
