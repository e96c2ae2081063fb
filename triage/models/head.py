"""One calibrated classifier per head: a class-weighted linear model whose scores are calibrated by
temperature scaling on out-of-fold predictions (data the classifier did not fit)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot, softmax
from sklearn.utils.validation import check_is_fitted


class CalibratedLinearHead(ClassifierMixin, BaseEstimator):
    """Linear SVM (or logistic regression) with temperature-scaled probabilities.

    Calibration uses ``calibration_folds``-fold out-of-fold scores (``CalibratedClassifierCV`` with
    ``ensemble=False``): the temperature is fitted on tickets the scoring model did not see, then the
    classifier is refitted on all tickets. Temperature scaling keeps the arg-max, so calibration never
    changes which label is predicted. ``predict_proba`` applies the fitted linear scores and temperature
    directly (the same numbers as ``calibrated_.predict_proba``, a fraction of the cost per call).

    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]])
    >>> head = CalibratedLinearHead(calibration_folds=3).fit(X, ["a", "a", "a", "b", "b", "b"])
    >>> head.predict(np.array([[0.05], [1.15]])).tolist()
    ['a', 'b']
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions({"svm", "logistic"})],
        "class_weight": [StrOptions({"balanced"}), None],
        "calibration_folds": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        C: float = 0.5,
        loss: str = "svm",
        class_weight: str | None = "balanced",
        calibration_folds: int = 3,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.loss = loss
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    def _base(self) -> BaseEstimator:
        if self.loss == "logistic":
            return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=3000)
        return LinearSVC(C=self.C, class_weight=self.class_weight)

    def fit(self, X: Any, y: Any) -> CalibratedLinearHead:
        """Fit on features ``X`` and string labels ``y``; every class needs ``calibration_folds`` examples."""
        self._validate_params()
        y = np.asarray(y, dtype=object)
        labels, counts = np.unique(y, return_counts=True)
        if len(labels) < 2:
            raise ValueError(f"a head needs at least 2 classes, got {labels.tolist()}")
        if counts.min() < self.calibration_folds:
            rare = labels[counts < self.calibration_folds].tolist()
            raise ValueError(f"classes {rare} have fewer than calibration_folds={self.calibration_folds} examples")
        folds = StratifiedKFold(self.calibration_folds, shuffle=True, random_state=self.random_state)
        self.calibrated_ = CalibratedClassifierCV(self._base(), method="temperature", cv=folds, ensemble=False)
        self.calibrated_.fit(X, y)
        self.classes_ = self.calibrated_.classes_
        self.n_train_ = len(y)
        return self

    # The fitted pieces, read from the calibrated model (not stored twice), for a predict_proba without
    # sklearn's per-call validation on the hot API path.
    @property
    def coef_(self) -> np.ndarray:
        return np.asarray(self.calibrated_.calibrated_classifiers_[0].estimator.coef_)

    @property
    def intercept_(self) -> np.ndarray:
        return np.asarray(self.calibrated_.calibrated_classifiers_[0].estimator.intercept_)

    @property
    def beta_(self) -> float:
        return float(self.calibrated_.calibrated_classifiers_[0].calibrators[0].beta_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, columns aligned with ``classes_``."""
        check_is_fitted(self, "calibrated_")
        scores = np.asarray(safe_sparse_dot(X, self.coef_.T)) + self.intercept_
        logits = np.hstack([-scores, scores]) if scores.shape[1] == 1 else scores
        return softmax(self.beta_ * logits)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
