"""``--engine spark`` of ``triage predict`` and ``triage evaluate``: the options, and the runs on Spark."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triage.cli import err

if TYPE_CHECKING:
    from triage.data import ColumnMapping
    from triage.decision import Triager


class Engine(StrEnum):
    """Choices of ``--engine``."""

    local = "local"
    spark = "spark"


EngineOpt = Annotated[
    Engine,
    typer.Option(
        help="local: read and score in this process; spark: read files or folders (local, hdfs://, s3a://, dbfs:/) "
        "and score on a Spark cluster, nothing collected to the driver (needs the spark extra and Java 17).",
    ),
]
MasterOpt = Annotated[
    str | None,
    typer.Option(
        "--master",
        help="With --engine spark: local[2], spark://HOST:7077, yarn... (default: as spark-submit or the cluster "
        "configured, else local[*]).",
    ),
]
BatchDataArg = Annotated[
    list[str],
    typer.Argument(
        help="Export files: .csv, .tsv, .jsonl, .json, .parquet, .xlsx (text formats may be .gz, .zip). With "
        "--engine spark: files or folders of CSV/TSV, JSON Lines (.gz, .bz2) or Parquet, local or cluster URIs.",
    ),
]


def local_paths(data: list[str]) -> list[Path]:
    """The data arguments of a local run."""
    return [Path(p) for p in data]


def session_of(master: str | None) -> Any:
    """The Spark session of ``--engine spark`` (a clear error without PySpark)."""
    try:
        from triage.batch.spark import spark_session
    except ImportError as exc:
        raise typer.BadParameter(
            f"--engine spark needs PySpark ({exc.name} is missing): pip install 'triage[spark]'", param_hint="--engine"
        ) from None
    return spark_session(master)


def _options() -> dict[str, Any]:
    from triage.decision import Triager
    from triage.settings import get_settings

    return Triager.options(get_settings())


def _warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {message}")


def predict_on_spark(
    triager: Triager, data: list[str], out_dir: str, mapping: ColumnMapping, master: str | None
) -> str:
    """Run ``predict`` on Spark; returns the summary line."""
    from triage.batch.spark import predict

    counts = predict(session_of(master), triager, _options(), data, out_dir, mapping, warn=_warn)
    shown = ", ".join(f"{decision} {n}" for decision, n in sorted(counts.items()))
    return f"wrote {sum(counts.values())} predictions to {out_dir} (Parquet, partitioned by decision: {shown})"


def evaluate_on_spark(
    triager: Triager, data: list[str], out_dir: Path, mapping: ColumnMapping, master: str | None
) -> dict[str, Any]:
    """Run ``evaluate`` on Spark and write ``metrics.json``, ``data_quality.json`` and the reports from the
    aggregates (the confusions without example tickets: those stay on the cluster); returns the metrics."""
    from triage.batch.spark import evaluate
    from triage.data.quality import DataQualityReport
    from triage.evaluation.report import metrics_context, write_context

    report = DataQualityReport(files=list(data), mapping=mapping.name)
    metrics = evaluate(session_of(master), triager, _options(), data, mapping, warn=_warn, report=report)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out_dir / "data_quality.json").write_text(report.model_dump_json(indent=2))
    write_context(metrics_context(metrics, triager.bundle.manifest, report), out_dir)
    return metrics


def bundle_source(model: Path) -> Path:
    """The bundle folder of ``--model``: a folder as it is, or a registered model (``models:/NAME@champion``)
    resolved, downloaded into the registry cache and verified, as ``triage serve`` does."""
    from triage.api.paths import bundle_folder
    from triage.settings import get_settings

    return bundle_folder(str(model), get_settings())
