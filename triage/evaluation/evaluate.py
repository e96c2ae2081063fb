"""Evaluate a model on labelled tickets: per-head metrics on the tickets that carry that head's label and,
with a :class:`~triage.decision.Triager`, what its decisions auto-route and how precisely."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.errors import DataError
from triage.evaluation.metrics import auto_route_summary, head_metrics, prediction_set_summary, risk_coverage
from triage.models.triage_model import TriageModel

if TYPE_CHECKING:
    import pandas as pd

    from triage.decision import Assessment, Triager


AUTO_ROUTE_RULE = (
    "auto_route when every head's confidence reaches the threshold of its predicted label, the ticket is not "
    "unfamiliar, no lower priority is assigned while the most urgent one is likely, and no other tier has a lower "
    "expected cost"
)


def _head_report(model: TriageModel, head: str, truth: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    classes = model.classes(head)
    best = proba.argmax(axis=1)
    return head_metrics(truth, classes[best], proba[np.arange(len(best)), best], [str(c) for c in classes])


def evaluate_model(model: TriageModel, frame: pd.DataFrame) -> dict[str, Any]:
    """``{"n_tickets": N, HEAD: {accuracy, macro_f1, per_class, ...}}`` for every head the model and the
    data share. Features are computed once for all heads."""
    proba = model.predict_proba(frame["text"].tolist())
    result: dict[str, Any] = {"n_tickets": len(frame)}
    for head, p in proba.items():
        if head in frame.columns and (labelled := frame[head].notna().to_numpy()).any():
            result[head] = _head_report(model, head, frame.loc[labelled, head].to_numpy(), p[labelled])
    return result


@dataclass
class Evaluation:
    """What evaluating a triager on labelled tickets gives: the metrics (``metrics.json``) and one row per
    ticket (index aligned with the evaluated frame) with, per head, ``HEAD_predicted``,
    ``HEAD_confidence`` and ``HEAD_confident``, then ``auto_route``: what reports and comparisons read."""

    metrics: dict[str, Any]
    predictions: pd.DataFrame


def evaluate_triager(triager: Triager, frame: pd.DataFrame) -> dict[str, Any]:
    """:func:`evaluate_model` plus, per head and overall, ``auto_route`` (coverage and precision of what the
    served decision rule routes without a person), the risk-coverage curve with its AURC, and for tickets
    whose label the model never saw, ``unknown_label.deferred`` (the share sent to review)."""
    return evaluate(triager, frame).metrics


def evaluate(triager: Triager, frame: pd.DataFrame, *, slices: Sequence[str] = ()) -> Evaluation:
    """:func:`evaluate_triager`'s metrics, with the per-ticket predictions and, for each column named in
    ``slices`` (``month`` for the month of ``created_at``), the metrics of each of its values."""
    import pandas as pd

    for column in slices:  # a wrong column fails before the model runs
        slice_values(frame, column)
    model = triager.bundle.model
    assessment = triager.assess(frame["text"].tolist())
    predictions = pd.DataFrame(index=frame.index)
    for head, p in assessment.probabilities.items():
        predictions[f"{head}_predicted"] = model.classes(head)[p.argmax(axis=1)].astype(str)
        predictions[f"{head}_confidence"] = p.max(axis=1)
        predictions[f"{head}_confident"] = assessment.confident[head]
    predictions["auto_route"] = assessment.auto_route
    result: dict[str, Any] = {"model_version": triager.version, "n_tickets": len(frame)}
    all_correct = np.ones(len(frame), dtype=bool)
    unknown_any = np.zeros(len(frame), dtype=bool)  # a label some head never saw
    for head in assessment.probabilities:
        if head not in frame.columns or not (labelled := frame[head].notna().to_numpy()).any():
            continue
        truth = frame.loc[labelled, head].to_numpy().astype(str)
        result[head], correct, unknown = _head_decisions(triager, assessment, head, labelled, truth)
        all_correct[labelled] &= correct
        unknown_any[np.flatnonzero(labelled)[unknown]] = True
    targets = [i.precision_target for i in triager.bundle.manifest.heads.values() if i.precision_target is not None]
    result["overall"] = {
        "auto_route": {
            **auto_route_summary(assessment.auto_route, all_correct),
            "target": min(targets) if targets else None,
        },
        "unfamiliar": float(assessment.unfamiliar.mean()) if len(frame) else 0.0,
        "priority_risk": _share(assessment.priority_risk),
        "tier_risk": _share(assessment.tier_risk),
        "rule": AUTO_ROUTE_RULE,
        "unknown_label_deferred": float((~assessment.auto_route[unknown_any]).mean()) if unknown_any.any() else None,
        "global_threshold": _global_threshold(assessment, all_correct, unknown_any, triager.default_threshold),
    }
    if slices:
        result["slices"] = {column: slice_metrics(frame, predictions, column) for column in slices}
    return Evaluation(result, predictions)


def _head_decisions(
    triager: Triager, assessment: Assessment, head: str, labelled: np.ndarray, truth: np.ndarray
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """One head's metrics on its labelled tickets with what the decisions made of them; also returns which
    of those tickets the head got right and which carry a label the model never saw."""
    model = triager.bundle.model
    p = assessment.probabilities[head][labelled]
    classes = model.classes(head).astype(str)
    report = _head_report(model, head, truth, p)
    predicted = classes[p.argmax(axis=1)]
    correct = predicted == truth
    confident = assessment.confident[head][labelled]
    info = triager.bundle.manifest.heads[head]
    report["auto_route"] = {
        **auto_route_summary(confident, correct),
        "target": info.precision_target,
        "threshold": triager.public_threshold(head),
        "per_class_thresholds": bool(info.class_thresholds),
    }
    report["per_class_auto_route"] = _per_class_auto_route(
        predicted, correct, confident, assessment.auto_route[labelled], classes, triager.class_thresholds[head]
    )
    report["risk_coverage"] = risk_coverage(p.max(axis=1), correct)
    unknown = ~np.isin(truth, classes)
    truth_index = np.where(unknown, -1, np.searchsorted(classes, truth))
    report["prediction_set"] = prediction_set_summary(
        assessment.prediction_sets[head][labelled], truth_index, triager.set_coverage
    )
    sent_to_review = ~assessment.auto_route[labelled][unknown]
    report["unknown_label"]["deferred"] = float(sent_to_review.mean()) if unknown.any() else None
    return report, correct, unknown


MAX_SLICE_VALUES = 30


def slice_values(frame: pd.DataFrame, column: str) -> pd.Series:
    """The value of each ticket for slicing by ``column``: ``month`` is the month of ``created_at``; missing
    values are ``(missing)``; beyond the 30 most frequent values, ``(other)``."""
    if column == "month" and "month" not in frame.columns:
        import pandas as pd

        created = pd.to_datetime(frame.get("created_at"), errors="coerce", utc=True)
        if created is None or created.isna().all():
            raise DataError("cannot slice by month: the tickets have no created_at time (map one with --time-column)")
        values = created.dt.strftime("%Y-%m")
    elif column not in frame.columns:
        usable = [str(c) for c in frame.columns if c not in ("text", "subject", "body") and not str(c).startswith("_")]
        raise DataError(f"cannot slice by {column!r}: no such column (columns: {', '.join([*usable, 'month'])})")
    else:
        values = frame[column].astype("string")
    values = values.fillna("(missing)").astype(str)
    frequent = values.value_counts().index[:MAX_SLICE_VALUES]
    return values.where(values.isin(frequent), "(other)")


def slice_metrics(frame: pd.DataFrame, predictions: pd.DataFrame, column: str) -> list[dict[str, Any]]:
    """Per value of a column, largest first (months in order): tickets, per-head accuracy (on tickets with
    that label) and the coverage and precision of auto-routing (all heads right)."""
    values = slice_values(frame, column)
    heads = [c.removesuffix("_predicted") for c in predictions.columns if c.endswith("_predicted")]
    rows = []
    for value, index in values.groupby(values, sort=False).groups.items():
        part, pred = frame.loc[index], predictions.loc[index]
        row: dict[str, Any] = {"value": str(value), "n": len(part)}
        all_right = np.ones(len(part), dtype=bool)
        for head in heads:
            if head not in part.columns:
                continue
            labelled = part[head].notna().to_numpy()
            right = pred[f"{head}_predicted"].to_numpy() == part[head].astype(str).to_numpy()
            row[f"{head}_accuracy"] = float(right[labelled].mean()) if labelled.any() else None
            all_right &= right | ~labelled
        row.update({f"auto_{k}": v for k, v in auto_route_summary(pred["auto_route"].to_numpy(), all_right).items()})
        rows.append(row)
    if column == "month" and "month" not in frame.columns:
        return sorted(rows, key=lambda r: r["value"])  # chronological
    return sorted(rows, key=lambda r: -r["n"])


def _share(mask: np.ndarray | None) -> float | None:
    return float(mask.mean()) if mask is not None and len(mask) else None


def _global_threshold(
    assessment: Assessment, all_correct: np.ndarray, unknown: np.ndarray, threshold: float
) -> dict[str, Any]:
    """What one confidence threshold on every head, with no novelty check and no rules, would route: the
    policy the bundle's thresholds replace, measured on the same tickets for comparison."""
    auto = np.logical_and.reduce([p.max(axis=1) >= threshold for p in assessment.probabilities.values()])
    return {
        "threshold": threshold,
        **auto_route_summary(auto, all_correct),
        "unknown_label_deferred": float((~auto[unknown]).mean()) if unknown.any() else None,
    }


def _per_class_auto_route(
    predicted: np.ndarray,
    correct: np.ndarray,
    confident: np.ndarray,
    auto: np.ndarray,
    classes: np.ndarray,
    thresholds: np.ndarray,
) -> dict[str, dict[str, Any]]:
    """Per predicted label: its threshold (None: never auto-routed), how many tickets were predicted as it,
    the share the head was confident about (``confident``), the share of them auto-routed once every head,
    the novelty check and the rules had their say (``coverage``), and this head's precision on those."""
    report = {}
    for label, threshold in zip(classes, thresholds, strict=True):
        mine = predicted == label
        summary = auto_route_summary(auto[mine], correct[mine])
        report[str(label)] = {
            "threshold": None if threshold == float("inf") else round(float(threshold), 4),
            "predicted": int(mine.sum()),
            "confident": float(confident[mine].mean()) if mine.any() else 0.0,
            "coverage": summary["coverage"],
            "precision": summary["precision"],
        }
    return report
