"""Hold-out splits: by time when tickets carry timestamps (train on the past, test on the most recent),
stratified otherwise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

MIN_TIMESTAMP_SHARE = 0.9


@dataclass
class Split:
    """Row positions of the training and test parts, and how they were chosen (for people)."""

    train: np.ndarray
    test: np.ndarray
    method: str
    description: str


def _stratify_column(frame: pd.DataFrame, heads: list[str], test_size: float) -> pd.Series | None:
    for head in heads:
        labels = frame[head].fillna("<missing>")
        counts = labels.value_counts()
        if counts.min() >= 2 and len(counts) <= test_size * len(frame):
            return labels
    return None


def holdout_split(frame: pd.DataFrame, heads: list[str], *, test_size: float, seed: int = 0) -> Split:
    """A hold-out split of ``frame``: the most recent ``test_size`` share when at least 90% of tickets have
    ``created_at``, otherwise stratified on the first head whose classes allow it."""
    positions = np.arange(len(frame))
    if test_size <= 0:
        return Split(positions, positions[:0], "none", "no hold-out: trained on every ticket")
    times = frame["created_at"]
    if times.notna().mean() >= MIN_TIMESTAMP_SHARE:
        order = np.argsort(times.fillna(times.min()).to_numpy(), kind="stable")
        cut = round(len(frame) * (1 - test_size))
        train, test = np.sort(order[:cut]), np.sort(order[cut:])
        boundary = times.iloc[order[cut]]
        return Split(
            train,
            test,
            "time",
            f"by time: trained before {boundary:%Y-%m-%d %H:%M}, tested on the {len(test)} most recent tickets",
        )
    strata = _stratify_column(frame, heads, test_size)
    train, test = train_test_split(positions, test_size=test_size, random_state=seed, stratify=strata)
    how = f"stratified on {strata.name}" if strata is not None else "random"
    return Split(
        np.sort(train),
        np.sort(test),
        "stratified" if strata is not None else "random",
        f"{how} (seed {seed}), no usable timestamps: {len(test)} tickets held out",
    )
