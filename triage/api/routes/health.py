"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from triage.api.deps import MetricsDep, StateDep

health_router = APIRouter(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])


@health_router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get("/readyz", summary="A model is loaded and answering")
def readyz(state: StateDep) -> dict[str, str]:
    triager = state.current()  # 503 with the reason when no model is loaded
    return {"status": "ready", "model_version": triager.version}


@metrics_router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
