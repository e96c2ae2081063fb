"""Per-head accuracy metrics: accuracy, macro-F1, per-class precision/recall/F1/support, calibration."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

CALIBRATION_BINS = 15


def exact_sum(values: np.ndarray) -> Fraction:
    """The exact sum of float64 values, whatever their order: sums of confidence computed in pieces (Spark's
    partitions) and all at once agree to the last digit. ``float(exact_sum(x))`` is ``math.fsum(x)``."""
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("exact_sum: values must be finite")
    mantissa, exponent = np.frexp(values)  # values = mantissa * 2**exponent, mantissa of 53 bits
    digits = np.ldexp(mantissa, 53).astype(np.int64)  # exact integers below 2**53
    total = Fraction(0)
    for e in np.unique(exponent):
        part = digits[exponent == e]
        high, low = int((part >> 26).sum()), int((part & ((1 << 26) - 1)).sum())  # no int64 overflow
        total += Fraction((high << 26) + low) * Fraction(2) ** (int(e) - 53)
    return total


@dataclass(frozen=True)
class ConfidenceBin:
    """One equal-width confidence bin: its index, its tickets, how many were right and the exact sum of their
    confidence (bins computed on parts of the data add up: :meth:`merge`)."""

    index: int
    n: int
    n_correct: int
    confidence_sum: Fraction

    def merge(self, other: ConfidenceBin) -> ConfidenceBin:
        return ConfidenceBin(
            self.index, self.n + other.n, self.n_correct + other.n_correct, self.confidence_sum + other.confidence_sum
        )


def bin_index(confidence: np.ndarray, *, bins: int = CALIBRATION_BINS) -> np.ndarray:
    """The equal-width bin (0 to ``bins - 1``) of each confidence."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(np.asarray(confidence, dtype=float), edges[1:-1], right=True), 0, bins - 1)


def confidence_bins(
    confidence: np.ndarray, correct: np.ndarray, *, bins: int = CALIBRATION_BINS
) -> list[ConfidenceBin]:
    """The non-empty bins of :func:`bin_index`, in order, with their counts and exact confidence sums."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    index = bin_index(confidence, bins=bins)
    return [
        ConfidenceBin(b, int(in_bin.sum()), int(correct[in_bin].sum()), exact_sum(confidence[in_bin]))
        for b in range(bins)
        if (in_bin := index == b).any()
    ]


def ece_from_bins(rows: list[ConfidenceBin]) -> float:
    """:func:`expected_calibration_error` from :func:`confidence_bins`."""
    n = sum(r.n for r in rows)
    ece = 0.0
    for r in rows:
        ece += (r.n / n) * abs(r.n_correct / r.n - float(r.confidence_sum) / r.n)
    return float(ece)


def reliability_from_bins(rows: list[ConfidenceBin], *, bins: int = CALIBRATION_BINS) -> list[dict[str, Any]]:
    """:func:`reliability_bins` from :func:`confidence_bins`."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return [
        {
            "lower": round(float(edges[r.index]), 4),
            "upper": round(float(edges[r.index + 1]), 4),
            "confidence": float(r.confidence_sum) / r.n,
            "accuracy": r.n_correct / r.n,
            "n": r.n,
        }
        for r in rows
    ]


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, *, bins: int = CALIBRATION_BINS) -> float:
    """ECE: the support-weighted gap between confidence and accuracy over equal-width confidence bins."""
    if len(confidence) == 0:
        return 0.0
    return ece_from_bins(confidence_bins(confidence, correct, bins=bins))


def reliability_bins(
    confidence: np.ndarray, correct: np.ndarray, *, bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """The reliability diagram's points: per equal-width confidence bin with tickets, the mean confidence,
    the accuracy and the count (the bins of :func:`expected_calibration_error`)."""
    return reliability_from_bins(confidence_bins(confidence, correct, bins=bins), bins=bins)


def top_confusions(
    y_true: np.ndarray, y_pred: np.ndarray, *, k: int = 15, weights: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """The ``k`` most frequent (true, predicted) mistakes, with their share of the true class's tickets
    (``weights``: how many tickets each row stands for, as in counted pairs)."""
    y_true = np.asarray(y_true, dtype=object).astype(str)
    y_pred = np.asarray(y_pred, dtype=object).astype(str)
    w = np.ones(len(y_true), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    wrong = (y_true != y_pred) & (w > 0)
    if not wrong.any():
        return []
    pairs, inverse = np.unique(np.stack([y_true[wrong], y_pred[wrong]], axis=1), axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w[wrong], minlength=len(pairs)).astype(np.int64)
    trues, true_inverse = np.unique(y_true, return_inverse=True)
    support = dict(zip(trues, np.bincount(true_inverse.ravel(), weights=w).astype(np.int64), strict=True))
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
    bins = confidence_bins(np.asarray(confidence, dtype=float), y_true == y_pred)
    return head_metrics_from_counts(y_true, y_pred, None, bins, known)


def head_metrics_from_counts(
    y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray | None, bins: list[ConfidenceBin], known: list[str]
) -> dict[str, Any]:
    """:func:`head_metrics` from (true, predicted) pairs with the number of tickets of each (``weights``; None:
    one each) and the :func:`confidence_bins`: what data too large for memory is reduced to (``triage.batch``)."""
    y_true = np.asarray(y_true, dtype=object).astype(str)
    y_pred = np.asarray(y_pred, dtype=object).astype(str)
    w = None if weights is None else np.asarray(weights, dtype=np.int64)
    n = len(y_true) if w is None else int(w.sum())
    labels = sorted(set(y_true) | set(known))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0, sample_weight=w
    )
    present = sorted(set(y_true))
    scores = {
        average: float(f1_score(y_true, y_pred, labels=present, average=average, zero_division=0, sample_weight=w))
        for average in ("macro", "weighted")
    }
    total = sum((b.confidence_sum for b in bins), Fraction(0))
    unknown = ~np.isin(y_true, known)
    return {
        "n_tickets": n,
        "accuracy": float(accuracy_score(y_true, y_pred, sample_weight=w)),
        "macro_f1": scores["macro"],
        "weighted_f1": scores["weighted"],
        "ece": ece_from_bins(bins) if n else 0.0,
        "mean_confidence": float(total) / n if n else 0.0,
        "unknown_label": {"n": int(unknown.sum() if w is None else w[unknown].sum())},
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=labels, sample_weight=w).tolist(),
        },
        "top_confusions": top_confusions(y_true, y_pred, weights=w),
        "reliability": reliability_from_bins(bins),
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
    return {"aurc": float(exact_sum(risk)) / n, "curve": curve}


def auto_route_summary(auto: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    """Share of tickets auto-routed (``coverage``) and share of those that were right (``precision``)."""
    auto = np.asarray(auto, dtype=bool)
    return auto_route_counts(int(auto.sum()), int(np.asarray(correct, dtype=bool)[auto].sum()), len(auto))


def auto_route_counts(n_auto: int, n_auto_correct: int, n: int) -> dict[str, Any]:
    """:func:`auto_route_summary` from counts: ``n`` tickets, ``n_auto`` auto-routed, ``n_auto_correct`` right."""
    return {
        "coverage": n_auto / n if n else 0.0,
        "precision": n_auto_correct / n_auto if n_auto else None,
        "n_auto": n_auto,
        "n": n,
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
