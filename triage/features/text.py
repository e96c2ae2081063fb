"""Lexical feature units: word and character TF-IDF over the cleaned ticket text."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


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
