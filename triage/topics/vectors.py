"""Ticket vectors for clustering, in the space where the model measures novelty: its sentence embeddings
when it has them, else word TF-IDF reduced to dense topics (LSA), both unit-length.

Without embeddings, the bundle's word vectoriser is refitted (same settings) on the candidate tickets
themselves: its fitted vocabulary is the training tickets', and the words of a new kind of request are
mostly not in it (a ticket about "crypto wallets" would be an empty vector to a desk that never had one).
English stop words are left out (Banking77: +8 points of hidden-intent tickets in their own intent's cluster).

>>> ticket_vectors(load_bundle("models/default").model, ["my virtual card was declined"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize

from triage.models.triage_model import TriageModel

LSA_DIMENSIONS = 100
# The cosine distance within which tickets are grouped, per space: chosen on Banking77 with hidden intents
# (benchmarks/README.md, "Candidate categories"). Word vectors of two short tickets on one subject share a
# few words among many others, so they sit much further apart than their sentence embeddings do.
DISTANCES = {"embedding": 0.4, "words": 0.6}


def representation(model: TriageModel) -> str:
    """The space :func:`ticket_vectors` uses for ``model``: ``embedding`` or ``words``."""
    units = dict(model.features_.transformer_list) if hasattr(model, "features_") else {}
    if not units:
        raise ValueError("the model is not fitted: load a bundle first")
    return "embedding" if "embedding" in units else "words"


def ticket_vectors(model: TriageModel, texts: Sequence[str], *, seed: int = 0) -> np.ndarray:
    """One unit-length row per text, from the feature unit the bundle's novelty check reads (only that unit
    runs: no classifier, no other features)."""
    space = representation(model)
    units = dict(model.features_.transformer_list)
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    if space == "embedding":
        return normalize(np.asarray(units["embedding"].transform(texts), dtype=np.float32))
    try:
        words = sparse.csr_matrix(clone(units["word"]).set_params(stop_words="english").fit_transform(texts))
    except ValueError:  # not one word in any text: nothing to group by
        return np.zeros((len(texts), 1), dtype=np.float32)
    k = min(LSA_DIMENSIONS, words.shape[0] // 2, words.shape[1] - 1)  # few tickets: fewer topics, or none group
    if k < 2:
        return normalize(words.toarray().astype(np.float32))
    reduced = TruncatedSVD(n_components=k, random_state=seed).fit_transform(words)
    return normalize(reduced.astype(np.float32))
