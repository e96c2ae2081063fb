"""Typed dependencies of the routes: settings, model state, metrics and the store's recording of the app.

They are ``async`` because they are trivial: FastAPI runs a sync dependency in a worker thread, and a hop per
dependency costs more than the model on the single-ticket path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from triage.api.metrics import ServiceMetrics
from triage.api.recording import Recording
from triage.api.state import ModelState
from triage.settings import Settings

if TYPE_CHECKING:
    from triage.store import Recorder


async def get_state(request: Request) -> ModelState:
    return request.app.state.model


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_metrics(request: Request) -> ServiceMetrics:
    return request.app.state.metrics


async def get_recording(request: Request) -> Recording:
    return request.app.state.recording


StateDep = Annotated[ModelState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
RecordingDep = Annotated[Recording, Depends(get_recording)]


def served(request: Request) -> tuple[ModelState, tuple[Settings, ServiceMetrics, Recorder | None]]:
    """What the hot routes (``/v1/triage``) read of the app, without a dependency per item: the model state,
    and the settings, metrics and recorder that :mod:`triage.api.tickets` answers with."""
    app = request.app.state
    return app.model, (app.settings, app.metrics, app.recording.recorder)
