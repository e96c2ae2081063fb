"""The OpenAPI document: the request bodies the routes parse themselves, and every error they answer.

The triage and reload routes read their body with ``await request.body()`` and parse it in a worker thread
(:mod:`triage.api.bodies`), so FastAPI does not see their request models: :func:`json_body` names the model in
the route's ``openapi_extra`` and :func:`install_openapi` adds its JSON Schema. :func:`errors` documents error
answers with the real error model, :class:`~triage.api.schemas.ErrorResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from triage.api.outcome_schemas import OutcomeBatchRequest, OutcomeIn, OutcomeItem
from triage.api.schemas import BatchRequest, ErrorResponse, ReloadRequest, TicketIn
from triage.api.ticket_schemas import ReviewIn
from triage.settings import Settings

REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    TicketIn,
    BatchRequest,
    ReloadRequest,
    ReviewIn,
    OutcomeIn,
    OutcomeItem,
    OutcomeBatchRequest,
)
_REF = "#/components/schemas/{model}"

ERRORS = {
    400: "`invalid_json`: the body is not JSON.",
    401: "`unauthorized`: no key, or an unknown one, in the `X-API-Key` header.",
    403: "`forbidden`: a client key on an admin route; `admin_disabled`: no TRIAGE_ADMIN_KEYS are configured; "
    "`forbidden_path`: `model_dir` resolves outside TRIAGE_MODELS_ROOT. Nothing is loaded.",
    404: "`not_found`: no stored ticket has this id.",
    409: "`bundle_rejected`: the bundle failed verification or loading; the old model keeps serving.",
    413: "`payload_too_large`: a body over TRIAGE_MAX_REQUEST_BYTES, or a batch over TRIAGE_MAX_BATCH tickets.",
    415: "`unsupported_media_type`: a Content-Type other than JSON.",
    422: "`validation_error`: JSON that breaks the schema; `details` names each field at fault.",
    503: "`model_not_ready`: no model is loaded; `shutting_down`: the request was still running when the grace "
    "period after SIGTERM (TRIAGE_SHUTDOWN_GRACE) ended. Retry after `Retry-After` seconds.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "ApiKey"}},
    503: {"Retry-After": {"schema": {"type": "string"}, "description": "seconds to wait before retrying"}},
}


def errors(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route or router: these error statuses with the error model (``described``: what
    a status means on this route, where it is not what ``ERRORS`` says)."""
    return {
        status: {
            "model": ErrorResponse,
            "description": (described or {}).get(status) or ERRORS[status],
            **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
        }
        for status in statuses
    }


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra=`` of a route that parses its own body as ``model``."""
    schema = {"$ref": _REF.format(model=model.__name__)}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Build the document once, with the request models' schemas (and the batch size limit) in it."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in REQUEST_MODELS:
                schema = model.model_json_schema(ref_template=_REF)
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            schemas["BatchRequest"]["properties"]["tickets"]["maxItems"] = settings.max_batch
            schemas["OutcomeBatchRequest"]["properties"]["outcomes"]["maxItems"] = settings.max_batch
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
