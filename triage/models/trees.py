"""Boosted trees on a ticket's most telling words: the non-linear complement of the linear head.

A linear model weighs each word on its own; trees also learn combinations ("access" with "folder" is a
storage request, with "admin" an administrative-rights one). On the IT tickets their probabilities,
fused with the linear scores, add about 1.4 points of accuracy (benchmarks/README.md). They read only
the ``n_words`` columns with the highest chi-squared statistic, which keeps them fast to fit and to serve.
"""

from __future__ import annotations

import threading
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_selection import chi2
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

PROBABILITY_FLOOR = 1e-6  # trees' probabilities are clipped here before their logarithm is fused
# LightGBM's predictor setup writes shared state of its booster (LightGBM issue #6142), and the API calls the
# model from a thread pool: predictions take turns. Each is well under a millisecond.
_PREDICT_LOCK = threading.Lock()


class WordTrees(ClassifierMixin, BaseEstimator):
    """LightGBM on the ``n_words`` most class-specific of the first ``columns`` columns of ``X``.

    ``columns`` is the width of the non-negative word TF-IDF block at the start of the feature matrix
    (``None``: every column, which must then be non-negative). Labels are class indices ``0..n-1``.
    ``n_jobs`` threads fit the trees (``None``: LightGBM's default, every core); prediction uses one.

    >>> import numpy as np
    >>> X = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]] * 10, dtype=float)
    >>> WordTrees(n_words=2).fit(X, [0, 0, 1, 1] * 10).predict(X[:2]).tolist()
    [0, 0]
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "columns": [Interval(Integral, 1, None, closed="left"), None],
        "n_words": [Interval(Integral, 1, None, closed="left")],
        "rounds": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, 1, closed="right")],
        "leaves": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        columns: int | None = None,
        n_words: int = 2_000,
        rounds: int = 60,
        learning_rate: float = 0.3,
        leaves: int = 15,
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.columns = columns
        self.n_words = n_words
        self.rounds = rounds
        self.learning_rate = learning_rate
        self.leaves = leaves
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _words(self, X: Any) -> Any:
        return X if self.columns is None else X[:, : self.columns]

    def fit(self, X: Any, y: Any) -> WordTrees:
        """Choose the words by chi-squared against ``y``, then boost trees on them."""
        import lightgbm

        self._validate_params()
        y = np.asarray(y)
        words = self._words(X)
        statistic, _ = chi2(words, y)
        k = min(self.n_words, words.shape[1])
        self.words_ = np.sort(np.argsort(np.nan_to_num(statistic, nan=0.0))[::-1][:k])
        self.classes_ = np.unique(y)
        classifier = lightgbm.LGBMClassifier(
            n_estimators=self.rounds,
            learning_rate=self.learning_rate,
            num_leaves=self.leaves,
            min_child_samples=10,
            colsample_bytree=0.5,
            subsample=0.8,
            subsample_freq=1,
            reg_lambda=1.0,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            verbose=-1,
        ).fit(words[:, self.words_], y)
        self.booster_ = classifier.booster_  # the bare booster: what predicts, and what a bundle keeps as text
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns aligned with ``classes_``; one thread per call (serving path)."""
        check_is_fitted(self, "booster_")
        words = self._selected(X)
        with _PREDICT_LOCK:
            proba = self.booster_.predict(words, num_threads=1)
        return np.asarray(proba).reshape(len(proba), -1) if len(self.classes_) > 2 else _binary(proba)

    def _selected(self, X: Any) -> Any:
        """The ``words_`` columns of ``X``. For a sparse ``X``, its product with a 0/1 selection matrix made once
        (the same numbers): scipy's column indexing built a map over all of X's columns on every call."""
        if not sparse.issparse(X):
            return self._words(X)[:, self.words_]
        selector = self.__dict__.get("_selector")
        if selector is None or selector.shape[0] != X.shape[1] or selector.dtype != X.dtype:
            k = len(self.words_)
            ones = np.ones(k, dtype=X.dtype)
            selector = sparse.csr_matrix((ones, (self.words_, np.arange(k))), shape=(X.shape[1], k))
            self.__dict__["_selector"] = selector  # a benign race: two threads make the same
        return sparse.csr_matrix(X @ selector)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _binary(p: Any) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64).ravel()
    return np.column_stack([1.0 - p, p])


def clipped_log(proba: np.ndarray) -> np.ndarray:
    """The logarithm of trees' probabilities, floored so that a zero never dominates the fusion."""
    return np.log(np.clip(proba, PROBABILITY_FLOOR, 1.0))


def log_proba(models: list[WordTrees], X: Any) -> np.ndarray:
    """The log of the averaged probabilities of several tree models (the out-of-fold ones of a head)."""
    return clipped_log(np.mean([m.predict_proba(X) for m in models], axis=0))
