"""Lexical feature units: word and character TF-IDF over the cleaned ticket text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2


def word_tfidf(*, max_features: int | None = 300_000) -> TfidfVectorizer:
    """Unigrams and bigrams of words, sublinear term frequency: the topic words of a ticket."""
    return TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        lowercase=True,
        strip_accents="unicode",
        max_features=max_features,
        dtype=np.float32,
    )


def char_tfidf(*, max_features: int | None = 300_000) -> TfidfVectorizer:
    """Character 2-5-grams within word boundaries: robust to typos, inflections and product codes."""
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        sublinear_tf=True,
        lowercase=True,
        min_df=2,
        strip_accents="unicode",
        max_features=max_features,
        dtype=np.float32,
    )


def transform_unit(unit: Any, texts: Sequence[str]) -> Any:
    """``unit.transform(texts)``; for a fitted TF-IDF vectorizer the same matrix, bit for bit, without
    scikit-learn's input validation of its own count matrix (``check_array`` twice per call, each asking
    narwhals whether a sparse matrix is a data frame: a tenth of a ticket's time on the serving path).

    The counting (tokens and n-grams) is scikit-learn's own; the weighting repeats
    ``TfidfTransformer.transform``: sublinear term frequency, idf, then L2 rows with scikit-learn's routine.
    Any other unit or setting goes through ``transform`` (``tests/features/test_text.py`` holds the two
    equal).

    >>> vectorizer = word_tfidf().fit(["vpn keeps dropping", "printer keeps jamming"])
    >>> (transform_unit(vectorizer, ["vpn down"]) != vectorizer.transform(["vpn down"])).nnz
    0
    """
    tfidf = getattr(unit, "_tfidf", None)
    if type(unit) is not TfidfVectorizer or tfidf is None or tfidf.norm != "l2" or isinstance(texts, str):
        return unit.transform(texts)
    counts = CountVectorizer.transform(unit, texts)  # checks the vocabulary; raises as transform would
    if not sparse.isspmatrix_csr(counts) or counts.dtype not in (np.float32, np.float64):
        return tfidf.transform(counts, copy=False)
    if tfidf.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if hasattr(tfidf, "idf_"):
        counts.data *= tfidf.idf_[counts.indices]
    inplace_csr_row_normalize_l2(counts)
    return counts
