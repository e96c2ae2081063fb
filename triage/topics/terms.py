"""The words that name a cluster: class-based TF-IDF (c-TF-IDF, as in BERTopic).

Each cluster's tickets are read as one document. A term weighs ``tf(t, c) * log(1 + A / f(t))``: its share of
the cluster's words, times how rare it is among all the candidate tickets (``f(t)`` its count everywhere,
``A`` the mean number of words per class; the unclustered tickets are a class of their own, so a word common to
every unfamiliar ticket does not name any cluster).

>>> top_terms(["my card has not arrived", "card still not here", "refund please"], np.array([0, 0, -1]))
{0: ['card']}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

TOKENS = r"(?u)\b[^\W\d_][^\W\d_]+\b"  # words of two letters or more, no digits (ids, amounts, dates)


def _counts(texts: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Word and two-word counts of the texts (a term in at least two tickets when there are enough)."""
    for min_df in (2, 1):
        vectorizer = CountVectorizer(
            lowercase=True, stop_words="english", token_pattern=TOKENS, ngram_range=(1, 2), min_df=min_df
        )
        try:
            counts = vectorizer.fit_transform(texts)
        except ValueError:  # no term left (every word a stop word, or seen once)
            continue
        return sparse.csr_matrix(counts), vectorizer.get_feature_names_out()
    return sparse.csr_matrix((len(texts), 0)), np.array([], dtype=object)


def top_terms(texts: Sequence[str], labels: np.ndarray, *, n: int = 8) -> dict[int, list[str]]:
    """Per cluster number (``labels >= 0``), its ``n`` most distinctive terms, best first; a word already
    shown inside a chosen two-word term is not repeated, and a two-word term always seen with its words
    comes before them."""
    labels = np.asarray(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    clusters = sorted(int(c) for c in np.unique(labels) if c >= 0)
    if not clusters:
        return {}
    counts, vocabulary = _counts(texts)
    if counts.shape[1] == 0:
        return {c: [] for c in clusters}
    classes = [*clusters, -1] if (labels < 0).any() else clusters
    per_class = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel() for c in classes]).astype(float)
    words_per_class = per_class.sum(axis=1, keepdims=True)
    tf = per_class / np.maximum(words_per_class, 1.0)
    idf = np.log1p(words_per_class.mean() / np.maximum(per_class.sum(axis=0), 1.0))
    weights = tf * idf
    words = np.array([len(str(term).split()) for term in vocabulary])
    result: dict[int, list[str]] = {}
    for row, cluster in enumerate(clusters):
        chosen: list[str] = []
        for j in np.lexsort((-words, -np.round(weights[row], 9))):  # on a tie, "crypto wallet" before "crypto"
            if weights[row, j] <= 0 or len(chosen) == n:
                break
            term = str(vocabulary[j])
            if any(_overlaps(term, other) for other in chosen):
                continue
            chosen.append(term)
        result[cluster] = chosen
    return result


def _overlaps(term: str, other: str) -> bool:
    """Whether two terms share a word ("card" and "virtual card")."""
    return bool(set(term.split()) & set(other.split()))
