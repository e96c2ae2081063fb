"""The one place where errors become HTTP responses. Every error body has the same shape,
``{"error": {"code", "message", "details": [{"field", "problem"}]}}`` (:class:`~triage.api.schemas.ErrorResponse`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from triage.errors import BundleError, ModelNotReady, TriageError
from triage.store.errors import ReviewConflict, StoreUnavailable, TicketNotFound

RETRY_AFTER_S = "5"


class ApiError(Exception):
    """An answer other than 2xx, raised anywhere in ``triage.api`` (also from worker threads)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = dict(headers or {})

    @classmethod
    def invalid(cls, errors: Iterable[Mapping[str, Any]], message: str = "the request is invalid") -> ApiError:
        """422 from pydantic errors."""
        return cls(422, "validation_error", message, validation_details(errors))


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message, details), headers=headers)


def validation_details(errors: Iterable[Mapping[str, Any]], *, from_request: bool = False) -> list[dict[str, Any]]:
    """Pydantic errors as ``{"field": "tickets.0.body", "problem": "...", "type": "..."}``, never echoing input
    values. Errors of FastAPI's own request validation start their location with the source (``body``,
    ``query``), which is dropped."""
    details = []
    for e in errors:
        loc = [str(part) for part in e.get("loc", ())]
        if from_request and loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        details.append(
            {"field": ".".join(loc) or "(request body)", "problem": e.get("msg", "invalid"), "type": e.get("type")}
        )
    return details


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc.errors(), from_request=True)
        return error_response(422, "validation_error", "the request is invalid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(ModelNotReady)
    async def _not_ready(request: Request, exc: ModelNotReady) -> JSONResponse:
        return error_response(
            503, "model_not_ready", f"no model is loaded: {exc}", headers={"Retry-After": RETRY_AFTER_S}
        )

    @app.exception_handler(BundleError)
    async def _bundle(request: Request, exc: BundleError) -> JSONResponse:
        return error_response(409, "bundle_rejected", str(exc))

    @app.exception_handler(TicketNotFound)
    async def _not_found(request: Request, exc: TicketNotFound) -> JSONResponse:
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(ReviewConflict)
    async def _conflict(request: Request, exc: ReviewConflict) -> JSONResponse:
        detail = {"field": "version", "problem": f"the ticket is at version {exc.version}", "type": "stale_version"}
        if exc.claimed:
            detail = {"field": "(ticket)", "problem": f"claimed by {exc.by}", "type": "claimed"}
        return error_response(409, "review_conflict", str(exc), [detail])

    @app.exception_handler(StoreUnavailable)
    async def _store(request: Request, exc: StoreUnavailable) -> JSONResponse:
        return error_response(503, "store_unavailable", str(exc), headers={"Retry-After": RETRY_AFTER_S})

    @app.exception_handler(TriageError)
    async def _triage(request: Request, exc: TriageError) -> JSONResponse:
        return error_response(400, "bad_request", str(exc))
