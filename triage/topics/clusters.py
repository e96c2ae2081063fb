"""Grouping tickets by meaning: clusters of unit-length ticket vectors, small groups left unclustered.

Two methods, compared on Banking77 with hidden intents (benchmarks/README.md, "Candidate categories"):
``agglomerative`` (average linkage on cosine distance, cut at ``distance``) and ``hdbscan`` (density-based,
euclidean on the unit vectors, which orders pairs as cosine does).

>>> labels = cluster_vectors(vectors, min_size=5)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import HDBSCAN, AgglomerativeClustering
from sklearn.preprocessing import normalize

METHODS = ("agglomerative", "hdbscan")
NOISE = -1


def cluster_vectors(
    vectors: np.ndarray,
    *,
    min_size: int = 5,
    method: str = "agglomerative",
    distance: float = 0.4,
) -> np.ndarray:
    """A cluster number per row (``-1``: in no cluster), clusters numbered from the largest down.

    ``min_size`` is the smallest group worth proposing; ``distance`` (agglomerative only) the mean cosine
    distance within which tickets are grouped (0: same direction, 1: unrelated)."""
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not one of {list(METHODS)}")
    if min_size < 2:
        raise ValueError(f"min_size: {min_size} is below 2; a topic needs at least two tickets")
    if not 0.0 < distance < 2.0:
        raise ValueError(f"distance: {distance} is outside (0, 2), the range of cosine distances")
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"vectors: expected a 2-D array (tickets x dimensions), got shape {vectors.shape}")
    raw = np.full(len(vectors), NOISE, dtype=int)
    usable = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 0)  # a text without a known word has no direction
    if len(usable) < min_size:
        return raw
    unit = normalize(vectors[usable])
    if method == "hdbscan":
        raw[usable] = HDBSCAN(min_cluster_size=min_size, min_samples=min(min_size, 5), copy=True).fit_predict(unit)
    else:
        model = AgglomerativeClustering(
            n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
        )
        raw[usable] = model.fit_predict(unit)
    return _by_size(raw, min_size)


def _by_size(raw: np.ndarray, min_size: int) -> np.ndarray:
    """Renumber clusters 0, 1, ... from the largest (ties: the one seen first); smaller than ``min_size``
    becomes noise."""
    found, first, counts = np.unique(raw[raw != NOISE], return_index=True, return_counts=True)
    kept = sorted((-int(c), int(i), int(old)) for old, i, c in zip(found, first, counts, strict=True) if c >= min_size)
    labels = np.full(len(raw), NOISE, dtype=int)
    for number, (_, _, old) in enumerate(kept):
        labels[raw == old] = number
    return labels
