"""MLflow tracking of training and evaluation runs. With ``MLFLOW_TRACKING_URI`` unset the store is local
(SQLite ``./mlflow.db``, artifacts in ``./mlruns``) and needs no server."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXPERIMENT = "triage"


def flatten_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """``{"category": {"accuracy": 0.9}}`` -> ``{"category.accuracy": 0.9}``; only top-level numbers per head."""
    flat: dict[str, float] = {}
    for head, values in metrics.items():
        if isinstance(values, dict):
            for name, value in values.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    flat[f"{head}.{name}"] = float(value)
        elif isinstance(values, int | float):
            flat[head] = float(values)
    return flat


@contextlib.contextmanager
def mlflow_run(name: str, *, enabled: bool = True, run_id: str | None = None) -> Iterator[Any]:
    """An MLflow run (or ``None`` when disabled); ``run_id`` resumes an existing run."""
    if not enabled:
        yield None
        return
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow  # MLFLOW_TRACKING_URI unset: MLflow's own default, SQLite ./mlflow.db and ./mlruns

    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=None if run_id else name, run_id=run_id) as run:
        yield run


def log_json(run: Any, name: str, payload: Any) -> None:
    """Log a JSON artifact to the active run (no-op without a run)."""
    if run is None:
        return
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(json.dumps(payload, indent=2, default=str))
        mlflow.log_artifact(str(path))


def log_evaluation(manifest: Any, report_dir: Path, metrics: dict[str, Any], *, kind: str) -> str | None:
    """Log a report folder and its headline numbers to the MLflow run that trained the model (the
    manifest's ``training.mlflow_run_id``): artifacts under ``KIND/REPORT_DIR_NAME``, metrics prefixed
    ``KIND.REPORT_DIR_NAME.``. Returns what was done, ``None`` for a bundle trained without MLflow."""
    run_id = manifest.training.get("mlflow_run_id")
    if not run_id:
        return None
    import mlflow

    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(report_dir).resolve().name)
    with mlflow_run(kind, run_id=run_id):
        mlflow.log_artifacts(str(report_dir), artifact_path=f"{kind}/{name}")
        overall = metrics.get("overall", {})
        flat = flatten_metrics({k: v for k, v in metrics.items() if k not in ("slices", "overall")})
        flat.update(flatten_metrics({"auto_route": overall.get("auto_route", {})}))
        mlflow.log_metrics({f"{kind}.{name}.{key}": value for key, value in flat.items()})
    return f"logged {kind} report to MLflow run {run_id}"
