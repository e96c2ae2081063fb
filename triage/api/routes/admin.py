"""POST /v1/admin/reload: swap in a new bundle without downtime (admin keys only)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from triage.api.bodies import parse_body, require_json
from triage.api.deps import MetricsDep, SettingsDep, StateDep
from triage.api.openapi import errors, json_body
from triage.api.paths import allowed_bundle_dir
from triage.api.routes.model import model_info
from triage.api.schemas import ReloadRequest, ReloadResponse
from triage.api.tickets import json_response
from triage.errors import TriageError
from triage.settings import Settings

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=errors(400, 403, 409, 413, 415, 422, 503))


def requested_bundle(raw: bytes, content_type: str | None, settings: Settings) -> Path | None:
    """The bundle folder a reload asks for (None: the configured one), checked before anything is loaded."""
    if not raw.strip():
        return None
    require_json(content_type)
    model_dir = parse_body(raw, ReloadRequest).model_dir
    return None if model_dir is None else allowed_bundle_dir(model_dir, settings)


@router.post(
    "/reload",
    response_model=ReloadResponse,
    summary="Load a new bundle without downtime",
    openapi_extra=json_body(ReloadRequest, required=False),
)
async def reload_model(request: Request, state: StateDep, settings: SettingsDep, metrics: MetricsDep) -> Response:
    """Verify and load a bundle (default: the configured one, e.g. after retraining in place; for a
    registered model, `models:/NAME@champion`, the version the alias points to now), then swap it in. If it
    fails, the old model keeps serving and the answer is 409 with the reason. `SIGHUP` does the same for the
    configured bundle. With several workers, this one answers once it has the bundle; the others load
    it within moments (each keeps its old model if the load fails there); so do the other replicas on the
    same database, within `TRIAGE_REPLICA_POLL` seconds."""
    raw = await request.body()
    path = await run_in_threadpool(requested_bundle, raw, request.headers.get("content-type"), settings)
    try:
        triager = await state.reload(path)
    except TriageError as exc:
        metrics.reloads.labels(result="failed").inc()
        logger.error("reload refused, the old model keeps serving: %r", str(exc))
        raise
    metrics.reloads.labels(result="ok").inc()
    metrics.set_model(triager.version)
    await request.app.state.lifecycle.publish(path)  # the other workers, and the other replicas, follow
    info = model_info(triager)
    return json_response(ReloadResponse(**dict(info), path=str(triager.bundle.path)))
