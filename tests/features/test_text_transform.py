"""The serving path's TF-IDF (:func:`triage.features.text.transform_unit`) is the vectorizer's own
``transform``, bit for bit, whatever its settings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import sparse
from sklearn import config_context
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.features.text import char_tfidf, transform_unit, word_tfidf

TRAIN = [
    "VPN keeps dropping since the update",
    "printer on floor 3 jams again",
    "password expired, cannot log in to Outlook",
    "need access to the finance share",
    "laptop screen flickers after docking",
]
TICKETS = [
    "vpn dropping again",
    "Printer jams!! floor three",
    "",
    "unknownword zzz",
    "café crème: outlook password expired " * 30,
]


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert sparse.issparse(a) and sparse.issparse(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)  # the same bits, not only close


@pytest.mark.parametrize(
    "vectorizer",
    [
        word_tfidf(),
        char_tfidf(),
        TfidfVectorizer(sublinear_tf=False),
        TfidfVectorizer(use_idf=False, dtype=np.float32),
        TfidfVectorizer(smooth_idf=False, binary=True),
        TfidfVectorizer(norm="l1"),  # not the fast path: its own transform
        TfidfVectorizer(norm=None),
    ],
    ids=["word", "char", "linear-tf", "no-idf", "binary", "l1", "no-norm"],
)
def test_transform_unit_is_the_vectorizers_transform(vectorizer: TfidfVectorizer) -> None:
    vectorizer.fit(TRAIN)
    with config_context(assume_finite=True):  # as on the serving path
        _same(transform_unit(vectorizer, TICKETS), vectorizer.transform(TICKETS))
        for ticket in TICKETS:
            _same(transform_unit(vectorizer, [ticket]), vectorizer.transform([ticket]))
    _same(transform_unit(vectorizer, TICKETS), vectorizer.transform(TICKETS))


def test_transform_unit_fails_as_transform_does() -> None:
    with pytest.raises(ValueError, match="string object received"):
        transform_unit(word_tfidf().fit(TRAIN), "one string, not a list")
    with pytest.raises(Exception, match="not fitted"):
        transform_unit(word_tfidf(), ["vpn"])
