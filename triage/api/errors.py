"""The one place where errors become HTTP responses. Every error body has the same shape:
``{"error": {"code", "message", "details": [{"field", "problem"}]}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from triage.errors import BundleError, ModelNotReady, TriageError

logger = logging.getLogger(__name__)


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(status_code=status, content=body, headers=headers)


def validation_details(errors: Any, *, from_request: bool = True) -> list[dict[str, Any]]:
    """Pydantic errors as ``{"field": "tickets.0.body", "problem": "..."}``, without echoing input values.
    Request-level errors start their location with the source (``body``, ``query``), which is dropped."""
    details = []
    for e in errors:
        loc = [str(part) for part in e.get("loc", ())]
        if from_request and loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        problem = e.get("msg", "invalid")
        if e.get("type") == "json_invalid":
            position = loc[0] if loc else "?"
            loc, problem = [], f"{problem} at character {position}"
        details.append({"field": ".".join(loc) or "(request body)", "problem": problem, "type": e.get("type")})
    return details


_STATUS_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc.errors())
        invalid_json = any(d["type"] == "json_invalid" for d in details)
        message = "the request body is not valid JSON" if invalid_json else "the request is invalid"
        return error_response(422, "invalid_json" if invalid_json else "validation_error", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(ModelNotReady)
    async def _not_ready(request: Request, exc: ModelNotReady) -> JSONResponse:
        return error_response(503, "model_not_ready", f"no model is loaded: {exc}", headers={"Retry-After": "5"})

    @app.exception_handler(BundleError)
    async def _bundle(request: Request, exc: BundleError) -> JSONResponse:
        return error_response(409, "bundle_rejected", str(exc))

    @app.exception_handler(TriageError)
    async def _triage(request: Request, exc: TriageError) -> JSONResponse:
        return error_response(400, "bad_request", str(exc))
