"""The promotion gate of the registry: a challenger and the champion on the same labelled tickets
(:mod:`triage.evaluation.compare`), and the services told to reload once a new champion is set."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from triage.decision import Triager
    from triage.evaluation.compare import Gate

logger = logging.getLogger(__name__)


def compare_triagers(new: Triager, old: Triager, frame: pd.DataFrame, gate: Gate) -> dict[str, Any]:
    """What ``triage compare`` computes: both models evaluated on ``frame``, per-class differences and the
    gate's verdict (``result["gate"]["passed"]``)."""
    from triage.evaluation import evaluate
    from triage.evaluation.compare import compare

    result = compare(evaluate(new, frame), evaluate(old, frame), frame, gate)
    return {"model_version": new.version, "baseline_version": old.version, **result}


def write_comparison(result: dict[str, Any], out_dir: Path) -> None:
    """compare.json and compare.md, as ``triage compare`` writes them."""
    from triage.evaluation.compare import render_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "compare.json").write_text(json.dumps(result, indent=2))
    (out_dir / "compare.md").write_text(render_markdown(result, result["model_version"], result["baseline_version"]))


@dataclass
class ReloadResult:
    """How one service answered ``POST /v1/admin/reload``."""

    url: str
    ok: bool
    detail: str


def reload_services(urls: Sequence[str], admin_key: str | None, *, timeout: float = 120.0) -> list[ReloadResult]:
    """POST ``/v1/admin/reload`` (no body: the service re-resolves its configured model, so a
    ``models:/NAME@champion`` service picks up the new champion) to each base URL with the admin key."""
    import httpx

    results = []
    headers = {"X-API-Key": admin_key} if admin_key else {}
    for base in urls:
        url = base.rstrip("/") + "/v1/admin/reload"
        try:
            response = httpx.post(url, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            results.append(ReloadResult(base, False, f"{type(exc).__name__}: {exc}"))
            continue
        if response.status_code == 200:
            results.append(ReloadResult(base, True, f"serving {response.json().get('model_version')}"))
        else:
            results.append(ReloadResult(base, False, f"HTTP {response.status_code}: {_error_message(response)}"))
    return results


def _error_message(response: Any) -> str:
    try:
        return str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]
