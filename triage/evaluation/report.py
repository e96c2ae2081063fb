"""Evaluation reports: ``report.html`` (one self-contained file: tables, plots and a few lines of script
inline, no network) and ``report.md`` (a short summary), from an :class:`~triage.evaluation.Evaluation`.

>>> from triage.evaluation.report import write_reports
>>> write_reports(evaluation, frame, manifest, quality, "reports/it")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.evaluation.metrics import wilson_interval

if TYPE_CHECKING:
    import pandas as pd

    from triage.data.quality import DataQualityReport
    from triage.evaluation.evaluate import Evaluation
    from triage.models.bundle import Manifest

SMALL_SUPPORT = 100
"""Below this many tickets a class's precision and recall are shown with a 95% interval."""
EXAMPLE_CHARS = 160
EXAMPLES_PER_CONFUSION = 3
CONFUSIONS_WITH_EXAMPLES = 8


def _shorten(text: str, limit: int = EXAMPLE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def class_rows(head_metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per class of a head: precision, recall (with intervals when support is small), F1, support,
    the share of tickets predicted as the class that were auto-routed and their precision; ``weak`` marks
    F1 more than 0.1 under the head's macro-F1."""
    labels = head_metrics["confusion"]["labels"]
    matrix = np.asarray(head_metrics["confusion"]["matrix"])
    predicted = dict(zip(labels, matrix.sum(axis=0).tolist(), strict=True))
    auto = head_metrics.get("per_class_auto_route", {})
    rows = []
    for label, m in head_metrics["per_class"].items():
        support, n_pred = m["support"], predicted.get(label, 0)
        hits = round(m["recall"] * support)
        small = support < SMALL_SUPPORT
        a = auto.get(label, {})
        rows.append(
            {
                "label": label,
                "precision": m["precision"],
                "precision_ci": wilson_interval(hits, n_pred) if small else None,
                "recall": m["recall"],
                "recall_ci": wilson_interval(hits, support) if small else None,
                "f1": m["f1"],
                "support": support,
                "predicted": n_pred,
                "threshold": a.get("threshold"),
                "never_routed": bool(a) and a.get("threshold") is None,
                "auto_share": a.get("coverage"),
                "auto_precision": a.get("precision"),
                "weak": support > 0 and m["f1"] < head_metrics["macro_f1"] - 0.1,
                "unknown": label not in auto and bool(auto),
            }
        )
    return sorted(rows, key=lambda r: r["f1"])


def confusion_examples(
    frame: pd.DataFrame, predictions: pd.DataFrame, head: str, confusions: list[dict[str, Any]], *, per: int = 3
) -> list[dict[str, Any]]:
    """The most frequent confusions of a head with ``per`` (shortened) tickets each, most confident first."""
    truth = frame[head].astype("string")
    predicted = predictions[f"{head}_predicted"]
    result = []
    for confusion in confusions[:CONFUSIONS_WITH_EXAMPLES]:
        mask = ((truth == confusion["true"]) & (predicted == confusion["predicted"])).fillna(False).to_numpy()
        chosen = predictions.loc[mask, f"{head}_confidence"].sort_values(ascending=False).index[:per]
        examples = [
            {"text": _shorten(frame.at[i, "text"]), "confidence": float(predictions.at[i, f"{head}_confidence"])}
            for i in chosen
        ]
        result.append({**confusion, "examples": examples})
    return result


def _model_facts(manifest: Manifest) -> dict[str, Any]:
    training = manifest.training
    return {
        "version": manifest.model_version,
        "created_at": f"{manifest.created_at:%Y-%m-%d %H:%M} UTC",
        "fingerprint": manifest.data.get("fingerprint", ""),
        "n_tickets": manifest.data.get("n_tickets"),
        "feature_set": manifest.model_params.get("feature_set"),
        "trees": bool(manifest.model_params.get("trees")),
        "embedding_model": (manifest.encoder or {}).get("model_name"),
        "split": (training.get("split") or {}).get("description"),
        "mlflow_run_id": training.get("mlflow_run_id"),
        "novelty": manifest.novelty.model_dump(exclude={"params"}) if manifest.novelty else None,
    }


def build_context(
    evaluation: Evaluation,
    frame: pd.DataFrame,
    manifest: Manifest,
    quality: DataQualityReport,
    *,
    title: str = "Evaluation report",
    examples: bool = True,
) -> dict[str, Any]:
    """Everything the report templates show, computed once (plots included). ``examples=False`` leaves
    ticket text out of the report (it is personal data: a report with examples is handled like the export)."""
    per = EXAMPLES_PER_CONFUSION if examples else 0

    def confusions(head: str, top: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return confusion_examples(frame, evaluation.predictions, head, top, per=per)

    return metrics_context(evaluation.metrics, manifest, quality, title=title, examples=examples, confusions=confusions)


def metrics_context(
    metrics: dict[str, Any],
    manifest: Manifest,
    quality: DataQualityReport,
    *,
    title: str = "Evaluation report",
    examples: bool = False,
    confusions: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The templates' context from ``metrics.json`` alone (``triage evaluate --engine spark``, where the
    tickets stay on the cluster): the same report, the confusions without example tickets unless
    ``confusions`` finds them."""
    from triage.evaluation.plots import confusion_png, reliability_svg, risk_coverage_svg

    heads = []
    for head in (h for h in manifest.heads if h in metrics):
        m = metrics[head]
        info = manifest.heads[head]
        top = m["top_confusions"]
        heads.append(
            {
                "name": head,
                "metrics": m,
                "target": info.precision_target,
                "rows": class_rows(m),
                "reliability_svg": reliability_svg(m["reliability"], m["ece"]),
                "risk_svg": risk_coverage_svg(m["risk_coverage"]["curve"], m.get("auto_route"), info.precision_target),
                "confusion_png": confusion_png(m["confusion"]["labels"], m["confusion"]["matrix"]),
                "confusions": confusions(head, top)
                if confusions is not None
                else [{**c, "examples": []} for c in top[:CONFUSIONS_WITH_EXAMPLES]],
            }
        )
    return {
        "title": title,
        "generated": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "model": _model_facts(manifest),
        "n_tickets": metrics["n_tickets"],
        "overall": metrics.get("overall", {}),
        "heads": heads,
        "slices": metrics.get("slices", {}),
        "quality": quality.model_dump(mode="json"),
        "small_support": SMALL_SUPPORT,
        "examples": examples,
    }


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("triage.evaluation", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, digits=1: "–" if v is None else f"{100 * v:.{digits}f}%"
    env.filters["num"] = lambda v, digits=3: "–" if v is None else f"{v:.{digits}f}"
    env.filters["ci"] = lambda ci: "" if not ci else f"{ci[0]:.2f}–{ci[1]:.2f}"
    return env


def render_html(context: dict[str, Any]) -> str:
    return _environment().get_template("report.html.j2").render(**context)


def render_markdown(context: dict[str, Any]) -> str:
    return _environment().get_template("report.md.j2").render(**context)


def write_reports(
    evaluation: Evaluation,
    frame: pd.DataFrame,
    manifest: Manifest,
    quality: DataQualityReport,
    out_dir: str | Path,
    *,
    title: str = "Evaluation report",
    examples: bool = True,
) -> list[Path]:
    """Write ``report.html`` and ``report.md`` into ``out_dir``; returns their paths."""
    context = build_context(evaluation, frame, manifest, quality, title=title, examples=examples)
    return write_context(context, out_dir)


def write_context(context: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Render ``report.html`` and ``report.md`` of a context into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html, md = out / "report.html", out / "report.md"
    html.write_text(render_html(context), encoding="utf-8")
    md.write_text(render_markdown(context), encoding="utf-8")
    return [html, md]
