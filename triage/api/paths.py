"""Which bundle folders an admin may have the service load: only those inside ``TRIAGE_MODELS_ROOT``."""

from __future__ import annotations

import os
from pathlib import Path

from triage.api.errors import ApiError
from triage.settings import Settings


def allowed_bundle_dir(requested: str, settings: Settings) -> Path:
    """The real path (symbolic links followed) of ``requested``, which must lie inside ``models_root`` or be
    the configured ``model_dir``; else 403, before anything is read from it."""
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
