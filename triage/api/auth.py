"""API keys: client keys (``TRIAGE_API_KEYS``) for ``/v1`` routes, admin keys (``TRIAGE_ADMIN_KEYS``) for
``/v1/admin`` routes; an admin key also works on the client routes. ``TRIAGE_AUTH=off`` opens every route (a
local demo), and is the only way to run without client keys.

The dependencies are ``async``: FastAPI runs a sync dependency in a worker thread, and a hop per dependency
costs more than the model on the single-ticket path."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from triage.api.deps import SettingsDep
from triage.api.errors import ApiError
from triage.errors import ConfigError
from triage.settings import Settings

API_KEY_HEADER = "X-API-Key"
_client_key = APIKeyHeader(
    name=API_KEY_HEADER, scheme_name="ApiKey", auto_error=False, description="One of TRIAGE_API_KEYS."
)
_admin_key = APIKeyHeader(
    name=API_KEY_HEADER, scheme_name="AdminKey", auto_error=False, description="One of TRIAGE_ADMIN_KEYS."
)
KeyHeader = Annotated[str | None, Security(_client_key)]
AdminKeyHeader = Annotated[str | None, Security(_admin_key)]


def check_auth_settings(settings: Settings) -> None:
    """No client keys, no service, unless authentication is explicitly off."""
    if settings.auth == "on" and not settings.api_keys:
        raise ConfigError(
            "no API keys: set TRIAGE_API_KEYS to a JSON list of keys (e.g. '[\"a-long-random-key\"]'), or turn "
            "authentication off for a local demo with `triage serve --no-auth` (TRIAGE_AUTH=off)"
        )


def key_matches(key: str | None, keys: Sequence[SecretStr]) -> bool:
    """Constant-time comparison against every key (no early exit)."""
    if not key:
        return False
    given = key.encode()
    matches = [hmac.compare_digest(given, k.get_secret_value().encode()) for k in keys]
    return any(matches)


def _unauthorized(keys: str) -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        f"missing or invalid API key: send one of {keys} in the {API_KEY_HEADER} header",
        headers={"WWW-Authenticate": "ApiKey"},
    )


async def require_api_key(request: Request, key: KeyHeader) -> None:
    settings: Settings = request.app.state.settings  # not a dependency: this check runs on every request
    if settings.auth == "off" or key_matches(key, [*settings.api_keys, *settings.admin_keys]):
        return
    raise _unauthorized("TRIAGE_API_KEYS")


async def require_admin_key(settings: SettingsDep, key: AdminKeyHeader) -> None:
    if settings.auth == "off":
        return
    if not settings.admin_keys:
        raise ApiError(403, "admin_disabled", "admin routes are off: no TRIAGE_ADMIN_KEYS are configured")
    if key_matches(key, settings.admin_keys):
        return
    if key_matches(key, settings.api_keys):
        raise ApiError(
            403, "forbidden", "this key may call the triage routes, not the admin routes (TRIAGE_ADMIN_KEYS)"
        )
    raise _unauthorized("TRIAGE_ADMIN_KEYS")
