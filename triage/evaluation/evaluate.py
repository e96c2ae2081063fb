"""Evaluate a model on labelled tickets: per-head metrics on the tickets that carry that head's label."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from triage.evaluation.metrics import head_metrics
from triage.models.triage_model import TriageModel


def evaluate_model(model: TriageModel, frame: pd.DataFrame) -> dict[str, Any]:
    """``{"n_tickets": N, HEAD: {accuracy, macro_f1, per_class, ...}}`` for every head the model and the
    data share. Features are computed once for all heads."""
    proba = model.predict_proba(frame["text"].tolist())
    result: dict[str, Any] = {"n_tickets": len(frame)}
    for head, p in proba.items():
        if head not in frame.columns:
            continue
        labelled = frame[head].notna().to_numpy()
        if not labelled.any():
            continue
        best = p[labelled].argmax(axis=1)
        classes = model.classes(head)
        result[head] = head_metrics(
            frame.loc[labelled, head].to_numpy(),
            classes[best],
            p[labelled][np.arange(len(best)), best],
            [str(c) for c in classes],
        )
    return result
