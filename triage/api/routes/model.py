"""GET /v1/model (what is served) and POST /v1/admin/reload (swap in a new bundle without downtime)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from triage.api.deps import MetricsDep, StateDep, TriagerDep
from triage.api.schemas import ModelInfo, ReloadRequest
from triage.decision import Triager
from triage.errors import TriageError

router = APIRouter(prefix="/v1", tags=["model"])


def model_info(triager: Triager) -> ModelInfo:
    """What the API says of a served bundle."""
    manifest = triager.bundle.manifest
    return ModelInfo(
        model_version=manifest.model_version,
        path=str(triager.bundle.path),
        created_at=manifest.created_at,
        heads={
            head: {
                "labels": info.labels,
                "threshold": triager.public_threshold(head),
                "class_thresholds": {
                    label: None if t == float("inf") else float(t)
                    for label, t in zip(info.labels, triager.class_thresholds[head], strict=True)
                },
                "precision_target": info.precision_target,
                "n_train": info.n_train,
                "excluded_classes": info.excluded_classes,
            }
            for head, info in manifest.heads.items()
        },
        feature_set=str(manifest.model_params.get("feature_set")),
        encoder=manifest.encoder,
        metrics=manifest.metrics,
        data={k: v for k, v in manifest.data.items() if k != "files"},
    )


@router.get("/model", response_model=ModelInfo, summary="The model being served")
def get_model(triager: TriagerDep) -> ModelInfo:
    """Version, heads, labels, thresholds and the training hold-out metrics of the served bundle."""
    return model_info(triager)


@router.post("/admin/reload", response_model=ModelInfo, summary="Load a new bundle without downtime")
async def reload_model(state: StateDep, metrics: MetricsDep, request: ReloadRequest | None = None) -> ModelInfo:
    """Verify and load a bundle (default: the configured one, e.g. after retraining in place), then swap it
    in. If it fails, the old model keeps serving and the answer is 409 with the reason."""
    try:
        triager = await run_in_threadpool(state.load, request.model_dir if request else None)
    except TriageError:
        metrics.reloads.labels(result="failed").inc()
        raise
    metrics.reloads.labels(result="ok").inc()
    metrics.set_model(triager.version)
    return model_info(triager)
