"""Candidate categories: clusters of tickets the model could not place, each with its naming terms, size,
growth (this week against the week before) and the tickets that show it best.

Pure functions over texts and vectors, so the CLI, the desk and the benchmark share them.

>>> topics = find_topics(texts, vectors, ids=ids, times=received, now=now, min_size=5)  # doctest: +SKIP
>>> topics[0].terms, topics[0].size, topics[0].this_week, topics[0].previous_week  # doctest: +SKIP
(['virtual card', 'disposable'], 42, 30, 12)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sklearn.preprocessing import normalize

from triage.topics.clusters import cluster_vectors
from triage.topics.terms import top_terms

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Example:
    ticket_id: str
    text: str


@dataclass(frozen=True)
class Topic:
    """One candidate category."""

    number: int  # 0 is the largest
    size: int
    terms: list[str]
    this_week: int  # tickets received in the last 7 days
    previous_week: int  # in the 7 days before
    cohesion: float  # mean cosine similarity of its tickets to their centre (1: all alike)
    examples: list[Example]  # the tickets nearest the centre, cleaned text cut short
    ticket_ids: list[str]

    @property
    def growth(self) -> float | None:
        """Relative change of this week over the previous one (0.5: half as many again); None when the
        previous week had none."""
        return self.this_week / self.previous_week - 1.0 if self.previous_week else None

    @property
    def growth_text(self) -> str:
        """The growth for people: "+50%", "-20%", "new this week", or "–" (no tickets in either week)."""
        if self.growth is not None:
            return f"{self.growth:+.0%}"
        return "new this week" if self.this_week else "–"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "growth": self.growth}


def shorten(text: str, max_chars: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``max_chars`` characters (with "…")."""
    flat = " ".join(text.split())
    if len(flat) <= max_chars:
        return flat
    cut = flat[: max_chars - 1]
    if flat[len(cut)] != " " and " " in cut[max_chars // 2 :]:  # a word is cut: drop it
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def weekly_counts(times: Sequence[datetime] | None, now: datetime | None) -> tuple[np.ndarray, np.ndarray]:
    """Per ticket, whether it was received in the last 7 days, and whether in the 7 days before."""
    if times is None or now is None:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    age = np.array([(now - t).total_seconds() for t in times])
    week = WEEK.total_seconds()
    return (age >= 0) & (age < week), (age >= week) & (age < 2 * week)


def find_topics(
    texts: Sequence[str],
    vectors: np.ndarray,
    *,
    ids: Sequence[str] | None = None,
    times: Sequence[datetime] | None = None,
    now: datetime | None = None,
    min_size: int = 5,
    method: str = "agglomerative",
    distance: float = 0.4,
    n_terms: int = 8,
    n_examples: int = 3,
    max_chars: int = 160,
) -> list[Topic]:
    """Candidate categories among ``texts`` (row ``i`` of ``vectors`` is text ``i``), the largest first.

    ``ids`` name the tickets (default: their row numbers); ``times`` (received, timezone-aware like ``now``)
    give each topic's count this week and the week before."""
    n = len(texts)
    if len(vectors) != n:
        raise ValueError(f"{n} texts but {len(vectors)} vectors")
    for name, values in (("ids", ids), ("times", times)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name}: {len(values)} values for {n} texts")
    if times is not None and now is None:
        raise ValueError("now: needed with times, to count this week's tickets")
    names = [str(i) for i in (ids if ids is not None else range(n))]
    unit = normalize(np.asarray(vectors, dtype=np.float64)) if n else np.zeros((0, 0))
    labels = cluster_vectors(unit, min_size=min_size, method=method, distance=distance) if n else np.zeros(0, int)
    terms = top_terms(texts, labels, n=n_terms)
    recent, before = weekly_counts(times, now)
    topics = []
    for number in sorted(terms):
        rows = np.flatnonzero(labels == number)
        centre = unit[rows].mean(axis=0)
        similarity = unit[rows] @ (centre / max(float(np.linalg.norm(centre)), 1e-12))
        nearest = rows[np.argsort(-similarity, kind="stable")]
        examples: list[Example] = []
        for row in nearest:
            text = shorten(texts[row], max_chars)
            if text and text not in (e.text for e in examples):
                examples.append(Example(names[row], text))
            if len(examples) == n_examples:
                break
        topics.append(
            Topic(
                number=number,
                size=len(rows),
                terms=terms[number],
                this_week=int(recent[rows].sum()) if len(recent) else 0,
                previous_week=int(before[rows].sum()) if len(before) else 0,
                cohesion=round(float(similarity.mean()), 3),
                examples=examples,
                ticket_ids=[names[r] for r in rows],
            )
        )
    return topics
