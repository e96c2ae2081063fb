"""Choosing the feature set per data set on a validation split: embeddings help on short phrasings and cost
latency; on long, keyword-rich tickets TF-IDF alone may be as good. The cheaper set wins unless the richer
one is clearly better."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

from triage.features import build_features

CANDIDATES = ("tfidf", "tfidf+embedding")


@dataclass
class Selection:
    """The chosen feature set and the validation scores behind the choice."""

    chosen: str
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    n_validation: int = 0
    reason: str = ""


def choose_feature_set(
    texts: list[str],
    labels: pd.Series,
    *,
    encoder_dir: Path,
    cache_path: Path | None,
    max_tickets: int = 10_000,
    min_gain: float = 0.005,
    seed: int = 0,
) -> Selection:
    """Compare the candidate feature sets on a stratified validation split of (a sample of) the tickets,
    scoring the mean of accuracy and macro-F1. ``tfidf+embedding`` must beat ``tfidf`` by ``min_gain``."""
    y = labels.astype(str).to_numpy()
    counts = pd.Series(y).value_counts()
    keep = np.isin(y, counts[counts >= 4].index.to_numpy())
    positions = np.flatnonzero(keep)
    if len(positions) > max_tickets:
        positions, _ = train_test_split(positions, train_size=max_tickets, random_state=seed, stratify=y[positions])
    fit_pos, val_pos = train_test_split(positions, test_size=0.25, random_state=seed, stratify=y[positions])
    scores: dict[str, dict[str, float]] = {}
    for name in CANDIDATES:
        features = build_features(name, encoder_dir=encoder_dir, cache_path=cache_path, progress=True)
        X_fit = features.fit_transform([texts[i] for i in fit_pos])
        X_val = features.transform([texts[i] for i in val_pos])
        pred = LinearSVC(C=0.5, class_weight="balanced").fit(X_fit, y[fit_pos]).predict(X_val)
        acc = accuracy_score(y[val_pos], pred)
        macro = f1_score(y[val_pos], pred, average="macro")
        scores[name] = {"accuracy": float(acc), "macro_f1": float(macro), "score": float((acc + macro) / 2)}
    gain = scores["tfidf+embedding"]["score"] - scores["tfidf"]["score"]
    chosen = "tfidf+embedding" if gain >= min_gain else "tfidf"
    reason = (
        f"embeddings {'add' if gain >= 0 else 'cost'} {abs(gain) * 100:.2f} points on {len(val_pos)} "
        f"validation tickets (threshold {min_gain * 100:.1f}): using {chosen}"
    )
    return Selection(chosen, scores, len(val_pos), reason)
