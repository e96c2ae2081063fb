"""The metrics of ``triage evaluate`` from counts aggregated in Spark: the same ``metrics.json``, built by the
same functions (:func:`~triage.evaluation.metrics.head_metrics_from_counts`, exact confidence sums), so that a
local and a Spark evaluation of one file agree to the last digit. Only counts reach the driver: per head the
(true, predicted) pairs, the confidence bins, the prediction-set counts, and 20 points of the risk curve."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.evaluation.metrics import ConfidenceBin, auto_route_counts, head_metrics_from_counts

if TYPE_CHECKING:
    from triage.decision import Triager


@dataclass
class Pair:
    """Tickets of one head with a given true and predicted label: how many, how many the head was confident
    about, and how many were auto-routed."""

    true: str
    predicted: str
    n: int
    confident: int
    auto: int


@dataclass
class HeadCounts:
    """One head's aggregates over its labelled tickets."""

    pairs: list[Pair]
    bins: list[ConfidenceBin]
    in_set: int
    set_size_sum: int
    single_set: int
    aurc_sum: Fraction
    curve: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class OverallCounts:
    """Counts over every evaluated ticket (``None`` for a rule the bundle does not have)."""

    n: int
    auto: int
    auto_correct: int
    unfamiliar: int
    priority_risk: int | None
    tier_risk: int | None
    unknown: int
    unknown_deferred: int
    global_auto: int
    global_auto_correct: int
    global_unknown_deferred: int


def _share(count: int | None, n: int) -> float | None:
    return count / n if count is not None and n else None


def _head(triager: Triager, head: str, counts: HeadCounts) -> dict[str, Any]:
    """What :func:`triage.evaluation.evaluate._head_decisions` reports, from the head's counts."""
    classes = triager.bundle.model.classes(head).astype(str)
    known = [str(c) for c in classes]
    pairs = counts.pairs
    truth = np.array([p.true for p in pairs], dtype=object)
    predicted = np.array([p.predicted for p in pairs], dtype=object)
    weights = np.array([p.n for p in pairs], dtype=np.int64)
    report = head_metrics_from_counts(truth, predicted, weights, counts.bins, known)
    n = int(weights.sum())
    info = triager.bundle.manifest.heads[head]
    confident = sum(p.confident for p in pairs)
    report["auto_route"] = {
        **auto_route_counts(confident, sum(p.confident for p in pairs if p.true == p.predicted), n),
        "target": info.precision_target,
        "threshold": triager.public_threshold(head),
        "per_class_thresholds": bool(info.class_thresholds),
    }
    per_class = {}
    for label, threshold in zip(classes, triager.class_thresholds[head], strict=True):
        mine = [p for p in pairs if p.predicted == label]
        n_mine = sum(p.n for p in mine)
        summary = auto_route_counts(sum(p.auto for p in mine), sum(p.auto for p in mine if p.true == label), n_mine)
        per_class[str(label)] = {
            "threshold": None if threshold == float("inf") else round(float(threshold), 4),
            "predicted": n_mine,
            "confident": sum(p.confident for p in mine) / n_mine if n_mine else 0.0,
            "coverage": summary["coverage"],
            "precision": summary["precision"],
        }
    report["per_class_auto_route"] = per_class
    report["risk_coverage"] = {"aurc": float(counts.aurc_sum) / n if n else None, "curve": counts.curve}
    report["prediction_set"] = {
        "target_coverage": triager.set_coverage,
        "coverage": counts.in_set / n if n else None,
        "mean_size": counts.set_size_sum / n if n else None,
        "single_label": counts.single_set / n if n else None,
    }
    unknown = [p for p in pairs if p.true not in set(known)]
    n_unknown = sum(p.n for p in unknown)
    report["unknown_label"]["deferred"] = sum(p.n - p.auto for p in unknown) / n_unknown if n_unknown else None
    return report


def metrics_from_counts(triager: Triager, heads: dict[str, HeadCounts], overall: OverallCounts) -> dict[str, Any]:
    """``metrics.json`` of :func:`triage.evaluation.evaluate` (without slices) from aggregates."""
    from triage.evaluation.evaluate import AUTO_ROUTE_RULE

    result: dict[str, Any] = {"model_version": triager.version, "n_tickets": overall.n}
    for head, counts in heads.items():
        result[head] = _head(triager, head, counts)
    targets = [i.precision_target for i in triager.bundle.manifest.heads.values() if i.precision_target is not None]
    n = overall.n
    result["overall"] = {
        "auto_route": {
            **auto_route_counts(overall.auto, overall.auto_correct, n),
            "target": min(targets) if targets else None,
        },
        "unfamiliar": overall.unfamiliar / n if n else 0.0,
        "priority_risk": _share(overall.priority_risk, n),
        "tier_risk": _share(overall.tier_risk, n),
        "rule": AUTO_ROUTE_RULE,
        "unknown_label_deferred": overall.unknown_deferred / overall.unknown if overall.unknown else None,
        "global_threshold": {
            "threshold": triager.default_threshold,
            **auto_route_counts(overall.global_auto, overall.global_auto_correct, n),
            "unknown_label_deferred": overall.global_unknown_deferred / overall.unknown if overall.unknown else None,
        },
    }
    return result
