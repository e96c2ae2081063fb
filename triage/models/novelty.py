"""Unfamiliar tickets: a novelty score on the model's representation, calibrated so that its false-alarm
rate on ordinary tickets is known.

The score of a ticket is ``1 - cosine similarity`` to its nearest training ticket (in the sentence-embedding
space when the model has one, else in the word TF-IDF space). The threshold is the ``1 - false_alarm_rate``
quantile of the same score for training tickets measured against the *other* training tickets (leave one
out), i.e. for tickets like the ordinary ones: that share of ordinary tickets is flagged by mistake.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

_CHUNK = 1024


class NearestNeighbourNovelty(BaseEstimator):
    """Flags tickets farther from every training ticket than ``1 - false_alarm_rate`` of ordinary tickets.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train = rng.normal(size=(500, 8)) + 3.0
    >>> detector = NearestNeighbourNovelty(false_alarm_rate=0.05).fit(train)
    >>> bool(detector.is_unfamiliar(-train[:1])[0])
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "false_alarm_rate": [Interval(Real, 0, 1, closed="neither")],
        "max_reference": [Interval(Integral, 10, None, closed="left")],
        "max_calibration": [Interval(Integral, 10, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        false_alarm_rate: float = 0.05,
        max_reference: int = 20_000,
        max_calibration: int = 3_000,
        random_state: int = 0,
    ) -> None:
        self.false_alarm_rate = false_alarm_rate
        self.max_reference = max_reference
        self.max_calibration = max_calibration
        self.random_state = random_state

    @staticmethod
    def _rows(Z: Any) -> Any:
        Z = normalize(Z)  # cosine similarity as a dot product
        return Z.astype(np.float32) if sparse.issparse(Z) else np.asarray(Z, dtype=np.float32)

    def fit(self, Z: Any) -> NearestNeighbourNovelty:
        """Keep (a sample of) the training representation ``Z`` and calibrate the threshold on it."""
        self._validate_params()
        rng = np.random.default_rng(self.random_state)
        Z = self._rows(Z)
        n = Z.shape[0]
        keep = np.sort(rng.choice(n, self.max_reference, replace=False)) if n > self.max_reference else np.arange(n)
        self.reference_ = Z[keep]
        probe = np.sort(rng.choice(len(keep), min(self.max_calibration, len(keep)), replace=False))
        self.calibration_scores_ = np.sort(self._score(self.reference_[probe], exclude=probe))
        self.threshold_ = float(np.quantile(self.calibration_scores_, 1.0 - self.false_alarm_rate))
        return self

    def _score(self, Z: Any, exclude: np.ndarray | None = None) -> np.ndarray:
        scores = np.empty(Z.shape[0], dtype=np.float64)
        for start in range(0, Z.shape[0], _CHUNK):
            sims = Z[start : start + _CHUNK] @ self.reference_.T
            sims = sims.toarray() if sparse.issparse(sims) else np.asarray(sims)
            if exclude is not None:  # leave one out: a training ticket is not its own neighbour
                rows = np.arange(sims.shape[0])
                sims[rows, exclude[start : start + _CHUNK]] = -np.inf
            scores[start : start + _CHUNK] = 1.0 - sims.max(axis=1)
        return scores

    def score(self, Z: Any) -> np.ndarray:
        """``1 - cosine similarity`` to the nearest training ticket (0: seen before, 1: nothing in common)."""
        check_is_fitted(self, "threshold_")
        if Z.shape[0] == 0:
            return np.zeros(0)
        return self._score(self._rows(Z))

    def is_unfamiliar(self, Z: Any) -> np.ndarray:
        """Whether each ticket is farther from the training tickets than the calibrated threshold."""
        return self.score(Z) > self.threshold_
