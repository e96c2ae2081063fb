"""Choosing the model per data set on a validation split: embeddings help on short phrasings and cost
latency; on long, keyword-rich tickets TF-IDF alone may be as good. Boosted trees on the words help where
combinations of words tell classes apart, and cost training time. The cheaper choice wins unless the richer
one is clearly better."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import log_softmax
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

from triage.features import FEATURE_SETS, build_features
from triage.features.finetune import class_sizes
from triage.models.head import as_logits, fit_fusion
from triage.models.trees import WordTrees, clipped_log

CANDIDATES = ("tfidf", "tfidf+embedding")
# The linear head for small classes: on Banking77 with 5 / 10 / 20 tickets per intent (frozen MiniLM, TF-IDF and
# embeddings), a logistic regression with C 100 beats the linear SVM with C 0.5 by 2.2 / 1.3 / 0.4 points
# (benchmarks/README.md, "A desk with little history"); with many tickets per class the SVM is as good and
# much faster to fit.
SMALL_CLASSES = 15
# ... but a logistic regression's memory grows with classes x TF-IDF columns (L-BFGS keeps a history of the
# whole coefficient matrix, one per fold fitted at once): on Banking77's texts relabelled into classes of ten,
# 77 classes peaked at 0.7 GB, 300 at 3.7 GB (the SVM: 0.5 GB), and 900 were killed for memory past 16 GB.
# Above this many classes auto keeps the SVM (benchmarks/README.md, "The head chosen per desk").
MAX_LOGISTIC_CLASSES = 200
DEFAULT_C = {"svm": 0.5, "logistic": 100.0}


@dataclass
class Selection:
    """The chosen feature set, whether to add boosted trees, and the validation scores behind the choice."""

    chosen: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    n_validation: int = 0
    reason: str = ""
    trees: bool = False


@dataclass(frozen=True)
class HeadChoice:
    """The linear model of the heads (``svm`` or ``logistic``), its C, and why."""

    loss: str
    C: float
    reason: str


def choose_head(loss: str, C: float | None, labels: Sequence[object]) -> HeadChoice:
    """``loss`` as given (C: given, else the loss's default), or ``auto``: a logistic regression with C 100
    when the median class has fewer than ``SMALL_CLASSES`` labelled tickets and there are at most
    ``MAX_LOGISTIC_CLASSES`` classes, the linear SVM with C 0.5 otherwise.

    >>> choose_head("auto", None, ["a"] * 10 + ["b"] * 10).loss
    'logistic'
    >>> choose_head("auto", None, ["a"] * 40 + ["b"] * 40).C
    0.5
    """
    if loss not in ("auto", "svm", "logistic"):
        raise ValueError(f"the head's loss is auto, svm or logistic, got {loss!r}")
    if loss != "auto":
        return HeadChoice(loss, C if C is not None else DEFAULT_C[loss], f"{loss} (given)")
    _, counts, median = class_sizes(labels)
    small = median < SMALL_CLASSES
    facts = f"median {median:g} tickets per class, {'under' if small else 'not under'} {SMALL_CLASSES}"
    if small and len(counts) > MAX_LOGISTIC_CLASSES:
        small = False
        facts += f", but {len(counts)} classes, over {MAX_LOGISTIC_CLASSES} (a logistic regression's memory)"
    chosen = "logistic" if small else "svm"
    return HeadChoice(chosen, C if C is not None else DEFAULT_C[chosen], f"auto: {facts}")


def _score(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    acc, macro = accuracy_score(y, pred), f1_score(y, pred, average="macro")
    return {"accuracy": float(acc), "macro_f1": float(macro), "score": float((acc + macro) / 2)}


def _fused_predictions(logits: np.ndarray, tree_log: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Predictions of the linear scores fused with the trees, the fusion weights cross-fitted on two halves
    of the validation tickets (each half predicted with weights fitted on the other)."""
    pred = np.empty(len(y), dtype=int)
    first, second = train_test_split(np.arange(len(y)), test_size=0.5, random_state=seed)
    for fit_rows, out_rows in ((first, second), (second, first)):
        beta, gamma = fit_fusion(logits[fit_rows], tree_log[fit_rows], y[fit_rows])
        pred[out_rows] = log_softmax(beta * logits[out_rows] + gamma * tree_log[out_rows], axis=1).argmax(axis=1)
    return pred


def choose_feature_set(
    texts: list[str],
    labels: pd.Series,
    *,
    encoder_dir: Path | None,
    cache_path: Path | None,
    candidates: tuple[str, ...] = CANDIDATES,
    trees: bool | None = None,
    max_tickets: int = 10_000,
    min_gain: float = 0.005,
    seed: int = 0,
) -> Selection:
    """Compare the candidate feature sets on a stratified validation split of (a sample of) the tickets,
    scoring the mean of accuracy and macro-F1; ``tfidf+embedding`` must beat ``tfidf`` by ``min_gain``. Then,
    unless ``trees`` is given, whether boosted trees fused with the linear model beat it by ``min_gain``."""
    y = labels.astype(str).to_numpy()
    counts = pd.Series(y).value_counts()
    keep = np.isin(y, counts[counts >= 4].index.to_numpy())
    positions = np.flatnonzero(keep)
    if len(positions) > max_tickets:
        positions, _ = train_test_split(positions, train_size=max_tickets, random_state=seed, stratify=y[positions])
    fit_pos, val_pos = train_test_split(positions, test_size=0.25, random_state=seed, stratify=y[positions])
    # Each feature unit is fitted once; a candidate is its units' blocks side by side.
    widest = max(candidates, key=lambda name: len(FEATURE_SETS[name]))
    units = build_features(widest, encoder_dir=encoder_dir, cache_path=cache_path, progress=True).transformer_list
    fit_texts, val_texts = [texts[i] for i in fit_pos], [texts[i] for i in val_pos]
    blocks = {name: (unit.fit_transform(fit_texts), unit.transform(val_texts)) for name, unit in units}
    scores: dict[str, dict[str, float]] = {}
    fitted: dict[str, tuple[Any, Any, LinearSVC]] = {}
    for name in candidates:
        X_fit, X_val = (
            sparse.hstack([blocks[unit][part] for unit in FEATURE_SETS[name]], format="csr") for part in (0, 1)
        )
        svm = LinearSVC(C=0.5, class_weight="balanced").fit(X_fit, y[fit_pos])
        scores[name] = _score(y[val_pos], svm.predict(X_val))
        fitted[name] = (X_fit, X_val, svm)
    chosen, reasons = candidates[0], []
    if {"tfidf", "tfidf+embedding"} <= scores.keys():
        gain = scores["tfidf+embedding"]["score"] - scores["tfidf"]["score"]
        chosen = "tfidf+embedding" if gain >= min_gain else "tfidf"
        reasons.append(f"embeddings {'add' if gain >= 0 else 'cost'} {abs(gain) * 100:.2f} points")
    if trees is None:
        X_fit, X_val, svm = fitted[chosen]
        classes, y_fit = np.unique(y[fit_pos], return_inverse=True)
        y_val = np.searchsorted(classes, y[val_pos])
        words = blocks["word"][0].shape[1]  # the word block comes first
        tree_log = clipped_log(WordTrees(columns=words, random_state=seed).fit(X_fit, y_fit).predict_proba(X_val))
        fused = _fused_predictions(as_logits(svm.decision_function(X_val)), tree_log, y_val, seed)
        scores[f"{chosen}+trees"] = _score(y[val_pos], classes[fused])
        tree_gain = scores[f"{chosen}+trees"]["score"] - scores[chosen]["score"]
        trees = tree_gain >= min_gain
        reasons.append(f"boosted trees {'add' if tree_gain >= 0 else 'cost'} {abs(tree_gain) * 100:.2f} points")
    reason = (
        f"{', '.join(reasons) or 'nothing compared'} of accuracy on {len(val_pos)} validation tickets (kept "
        f"when they add at least {min_gain * 100:.1f} points): using {chosen}{' with boosted trees' if trees else ''}"
    )
    return Selection(chosen, scores, len(val_pos), reason, bool(trees))
