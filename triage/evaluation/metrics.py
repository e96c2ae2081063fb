"""Per-head accuracy metrics: accuracy, macro-F1, per-class precision/recall/F1/support, calibration."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, *, bins: int = 15) -> float:
    """ECE: the support-weighted gap between confidence and accuracy over equal-width confidence bins."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, *, bins: int = 15) -> list[dict[str, Any]]:
    """The reliability diagram's points: per equal-width confidence bin with tickets, the mean confidence,
    the accuracy and the count (the bins of :func:`expected_calibration_error`)."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    return [
        {
            "lower": round(float(edges[b]), 4),
            "upper": round(float(edges[b + 1]), 4),
            "confidence": float(confidence[in_bin].mean()),
            "accuracy": float(correct[in_bin].mean()),
            "n": int(in_bin.sum()),
        }
        for b in range(bins)
        if (in_bin := index == b).any()
    ]


def top_confusions(y_true: np.ndarray, y_pred: np.ndarray, *, k: int = 15) -> list[dict[str, Any]]:
    """The ``k`` most frequent (true, predicted) mistakes, with their share of the true class's tickets."""
    y_true = np.asarray(y_true, dtype=object).astype(str)
    y_pred = np.asarray(y_pred, dtype=object).astype(str)
    wrong = y_true != y_pred
    if not wrong.any():
        return []
    pairs, counts = np.unique(np.stack([y_true[wrong], y_pred[wrong]], axis=1), axis=0, return_counts=True)
    support = dict(zip(*np.unique(y_true, return_counts=True), strict=True))
    order = np.lexsort((pairs[:, 1], pairs[:, 0], -counts))[:k]
    return [
        {
            "true": str(pairs[i, 0]),
            "predicted": str(pairs[i, 1]),
            "n": int(counts[i]),
            "share_of_true": float(counts[i] / support[pairs[i, 0]]),
        }
        for i in order
    ]


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (``None`` for n = 0): honest at small n, unlike p ± 2se."""
    if n == 0:
        return None
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def head_metrics(y_true: np.ndarray, y_pred: np.ndarray, confidence: np.ndarray, known: list[str]) -> dict[str, Any]:
    """Metrics of one head on labelled tickets. ``known`` are the labels the model can predict; tickets
    whose true label is not among them are counted in ``unknown_label`` (they are errors by construction)."""
    y_true = np.asarray(y_true, dtype=object).astype(str)
    y_pred = np.asarray(y_pred, dtype=object).astype(str)
    labels = sorted(set(y_true) | set(known))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = sorted(set(y_true))
    correct = y_true == y_pred
    return {
        "n_tickets": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)),
        "ece": expected_calibration_error(np.asarray(confidence, dtype=float), correct),
        "mean_confidence": float(np.mean(confidence)) if len(confidence) else 0.0,
        "unknown_label": {"n": int((~np.isin(y_true, known)).sum())},
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
        "top_confusions": top_confusions(y_true, y_pred),
        "reliability": reliability_bins(np.asarray(confidence, dtype=float), correct),
    }


def risk_coverage(confidence: np.ndarray, correct: np.ndarray, *, points: int = 20) -> dict[str, Any]:
    """The risk-coverage curve of routing the most confident tickets first, and its area (AURC, lower is
    better): ``risk`` at coverage k/n is the error rate among the k most confident tickets."""
    n = len(confidence)
    if n == 0:
        return {"aurc": None, "curve": []}
    order = np.argsort(-np.asarray(confidence, dtype=float), kind="stable")
    errors = np.cumsum(~np.asarray(correct, dtype=bool)[order])
    risk = errors / np.arange(1, n + 1)
    picks = np.unique(np.ceil(n * np.arange(1, points + 1) / points).astype(int) - 1)  # coverage j/points
    curve = [
        {
            "coverage": round((i + 1) / n, 4),
            "risk": round(float(risk[i]), 4),
            "threshold": round(float(np.asarray(confidence)[order][i]), 4),
        }
        for i in picks
    ]
    return {"aurc": float(risk.mean()), "curve": curve}


def auto_route_summary(auto: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    """Share of tickets auto-routed (``coverage``) and share of those that were right (``precision``)."""
    auto = np.asarray(auto, dtype=bool)
    n_auto = int(auto.sum())
    return {
        "coverage": float(auto.mean()) if len(auto) else 0.0,
        "precision": float(np.asarray(correct, dtype=bool)[auto].mean()) if n_auto else None,
        "n_auto": n_auto,
        "n": len(auto),
    }


def prediction_set_summary(sets: np.ndarray, truth_index: np.ndarray, target: float) -> dict[str, Any]:
    """Empirical coverage (share of sets holding the true label; unknown labels, index -1, count as
    missed) and mean size of conformal prediction sets, beside their ``target`` coverage."""
    known = truth_index >= 0
    covered = np.zeros(len(truth_index), dtype=bool)
    covered[known] = sets[np.flatnonzero(known), truth_index[known]]
    sizes = sets.sum(axis=1)
    return {
        "target_coverage": target,
        "coverage": float(covered.mean()) if len(covered) else None,
        "mean_size": float(sizes.mean()) if len(sizes) else None,
        "single_label": float((sizes == 1).mean()) if len(sizes) else None,
    }
