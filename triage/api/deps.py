"""Typed dependencies of the routes: settings, model state, the current triager, API-key auth.

They are ``async`` because they are trivial: FastAPI runs a sync dependency in a worker thread, and a
hop per dependency cost more than the model on the single-ticket path."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from triage.api.metrics import ServiceMetrics
from triage.api.state import ModelState
from triage.decision import Triager
from triage.settings import Settings

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="One of TRIAGE_API_KEYS.")


async def get_state(request: Request) -> ModelState:
    return request.app.state.model


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_metrics(request: Request) -> ServiceMetrics:
    return request.app.state.metrics


StateDep = Annotated[ModelState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]


def key_is_valid(settings: Settings, key: str | None) -> bool:
    """Constant-time comparison against every configured key (no keys configured: auth is off)."""
    if not settings.api_keys:
        return True
    if not key:
        return False
    given = key.encode()
    matches = [hmac.compare_digest(given, k.get_secret_value().encode()) for k in settings.api_keys]
    return any(matches)


async def require_api_key(settings: SettingsDep, key: Annotated[str | None, Security(_api_key)]) -> None:
    if not key_is_valid(settings, key):
        raise HTTPException(
            status_code=401,
            detail="missing or invalid API key (header X-API-Key)",
            headers={"WWW-Authenticate": "ApiKey"},
        )


async def get_triager(state: StateDep) -> Triager:
    return state.current()


TriagerDep = Annotated[Triager, Depends(get_triager)]
