"""A training cap for large exports: the most recent tickets first, every class kept.

Training memory and time grow with the number of tickets (every feature matrix, every fold of every head),
while accuracy stops growing long before a large desk's history runs out (benchmarks/README.md, learning
curve). So a large export trains on its ``max_tickets`` most recent tickets: they describe today's desk best.
A class whose tickets are all older keeps its ``min_per_class`` most recent ones, so no class is lost.
Without timestamps the tickets are drawn at random (seeded), with the same minimum per class.

>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "created_at": pd.date_range("2026-01-01", periods=6, freq="D", tz="UTC"),
...     "category": ["old", "new", "new", "new", "new", "new"],
... })
>>> sample = recent_sample(frame, ["category"], max_tickets=3, min_per_class=1)
>>> sample.rows.tolist(), sample.n_used, sample.method
([0, 4, 5], 3, 'time')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

MIN_TIMESTAMP_SHARE = 0.9  # as for the hold-out split: below this share of dated tickets, order is unknown


@dataclass
class Sample:
    """Which tickets (row positions, ascending) a capped training uses, and how they were chosen."""

    rows: np.ndarray
    n_available: int
    max_tickets: int | None
    min_per_class: int
    method: str  # "all", "time" (most recent first) or "random" (no usable timestamps)
    kept_for_classes: int  # tickets older than the cut kept so that every class has its minimum
    oldest: str | None = None  # the cut: oldest ticket of the most recent ones taken (method "time")
    engine: str = "local"  # where the export was read and sampled: "local" or "spark" (only the sample collected)

    @property
    def n_used(self) -> int:
        return len(self.rows)

    @property
    def share(self) -> float:
        return self.n_used / self.n_available if self.n_available else 1.0

    @property
    def description(self) -> str:
        """One line for people (the screen and the manifest)."""
        if self.method == "all":
            return f"all {self.n_available:,} tickets (under the cap of {self.max_tickets or 0:,})"
        how = f"the most recent (from {self.oldest})" if self.method == "time" else "a random sample (no timestamps)"
        extra = (
            f", plus {self.kept_for_classes:,} older to keep at least {self.min_per_class} of every class"
            if self.kept_for_classes
            else ""
        )
        return (
            f"training on {self.n_used:,} of {self.n_available:,} tickets ({self.share:.1%}): {how}{extra}; "
            f"--max-tickets caps it"
        )

    def manifest(self) -> dict[str, Any]:
        """What the bundle manifest keeps (``training.sample``)."""
        info = {k: v for k, v in asdict(self).items() if k != "rows"}
        return {**info, "n_used": self.n_used, "share": round(self.share, 6), "description": self.description}


def recent_sample(
    frame: pd.DataFrame,
    heads: list[str],
    *,
    max_tickets: int | None,
    min_per_class: int = 50,
    seed: int = 0,
) -> Sample:
    """The rows of ``frame`` a training capped at ``max_tickets`` uses: every class of every head first gets its
    ``min_per_class`` most recent tickets (all of them when it has fewer; fewer when the cap cannot hold that
    many for every class), then the most recent of the rest fill the cap. ``None`` or 0: no cap."""
    n = len(frame)
    if max_tickets is not None and max_tickets < 0:
        raise ValueError(f"max_tickets must be 0 (no cap) or positive, got {max_tickets}")
    if min_per_class < 1:
        raise ValueError(f"min_per_class must be at least 1, got {min_per_class}")
    if not max_tickets or n <= max_tickets:
        return Sample(np.arange(n), n, max_tickets or None, min_per_class, "all", 0)
    times = frame["created_at"] if "created_at" in frame else pd.Series(pd.NaT, index=frame.index)
    dated = bool(times.notna().mean() >= MIN_TIMESTAMP_SHARE)
    if dated:
        # newest first; undated tickets count as the oldest; ties keep the file's order, later rows newer
        values = times.to_numpy(dtype="datetime64[ns]")
        values = np.where(np.isnat(values), np.datetime64(np.iinfo(np.int64).min + 1, "ns"), values)
        order = np.lexsort((-np.arange(n), -values.astype(np.int64)))
    else:
        order = np.random.default_rng(seed).permutation(n)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)  # 0: the most recent (or first drawn)
    chosen = np.zeros(n, dtype=bool)
    chosen[order[:max_tickets]] = True
    reserved = np.zeros(n, dtype=bool)
    for head in heads:
        labels = frame[head]
        n_classes = labels.nunique()
        per_class = max(1, min(min_per_class, max_tickets // max(1, n_classes * len(heads))))
        ranked = pd.DataFrame({"label": labels.to_numpy(), "rank": rank}).dropna(subset=["label"])
        firsts = ranked.sort_values("rank", kind="stable").groupby("label", sort=False).head(per_class)
        reserved[firsts.index.to_numpy()] = True
    extra = reserved & ~chosen
    if extra.any():  # make room: drop the oldest of the unreserved tickets taken
        taken = order[:max_tickets]
        droppable = taken[~reserved[taken]][::-1]  # oldest first
        chosen[droppable[: int(extra.sum())]] = False
        chosen |= reserved
    rows = np.flatnonzero(chosen)
    oldest = None
    if dated:
        newest_cut = order[: max_tickets - int(extra.sum())]
        oldest_time = times.iloc[newest_cut[-1]] if len(newest_cut) else None
        oldest = None if oldest_time is None or pd.isna(oldest_time) else f"{oldest_time:%Y-%m-%d %H:%M}"
    return Sample(rows, n, max_tickets, min_per_class, "time" if dated else "random", int(extra.sum()), oldest)
