"""GET /v1/model: what is served (for clients: no server paths)."""

from __future__ import annotations

from fastapi import APIRouter

from triage.api.deps import StateDep
from triage.api.openapi import errors
from triage.api.schemas import ModelInfo
from triage.decision import Triager

router = APIRouter(prefix="/v1", tags=["model"], responses=errors(503))


def model_info(triager: Triager) -> ModelInfo:
    """What the API says of a served bundle."""
    manifest = triager.bundle.manifest
    return ModelInfo(
        model_version=manifest.model_version,
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
async def get_model(state: StateDep) -> ModelInfo:
    """Version, heads, labels, thresholds and the training hold-out metrics of the served bundle."""
    return model_info(state.current())
