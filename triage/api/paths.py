"""Which bundle folders an admin may have the service load: only those inside ``TRIAGE_MODELS_ROOT``; and
where a registered model (``models:/NAME@champion``) is downloaded to: a cache inside that root."""

from __future__ import annotations

import os
from pathlib import Path

from triage.api.errors import ApiError
from triage.registry.source import CACHE, fetch_bundle, is_registry_uri
from triage.settings import Settings


def registry_cache(settings: Settings) -> Path:
    """Where bundles of registered models are kept: ``<TRIAGE_MODELS_ROOT>/.registry``."""
    return Path(settings.models_root) / CACHE


def bundle_folder(source: str | Path, settings: Settings) -> Path:
    """The bundle folder of a model source: a folder as is; a ``models:/`` URI resolved now (the alias's
    current version), its bundle downloaded into :func:`registry_cache` and verified."""
    if is_registry_uri(source):
        return fetch_bundle(str(source), registry_cache(settings))
    return Path(source)


def allowed_bundle_dir(requested: str, settings: Settings) -> Path:
    """The real path (symbolic links followed) of ``requested``, which must lie inside ``models_root`` or be
    the configured ``model_dir``; else 403, before anything is read from it. A registry URI is kept as it is:
    its bundle is downloaded inside ``models_root`` (:func:`bundle_folder`)."""
    if is_registry_uri(requested):
        return Path(requested)
    try:
        real = Path(os.path.realpath(requested))
        root = Path(os.path.realpath(settings.models_root))
        configured = Path(os.path.realpath(settings.model_dir))
    except (OSError, ValueError):
        real = root = configured = None  # type: ignore[assignment]
    if real is not None and (real == configured or real.is_relative_to(root)):
        return real
    raise ApiError(
        403,
        "forbidden_path",
        "model_dir resolves (symbolic links followed) to a folder outside TRIAGE_MODELS_ROOT; "
        "bundles are loaded only from there",
        [{"field": "model_dir", "problem": "outside TRIAGE_MODELS_ROOT", "type": "forbidden_path"}],
    )
