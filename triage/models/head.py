"""One calibrated classifier per head: a class-weighted linear model, optionally fused with boosted trees on
its most telling words, whose scores are calibrated by temperature scaling on out-of-fold predictions (data
the classifiers did not fit), with split-conformal prediction sets from a second, disjoint half of those
predictions."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot, softmax
from sklearn.utils.validation import check_is_fitted

from triage.models.trees import WordTrees, clipped_log, log_proba


def as_logits(scores: np.ndarray) -> np.ndarray:
    """Decision scores as one column per class (a binary score ``d`` becomes ``(-d, d)``)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    return np.hstack([-scores, scores]) if scores.shape[1] == 1 else scores


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The inverse temperature ``beta`` minimising the log loss of ``softmax(beta * logits)``."""

    def log_loss(log_beta: float) -> float:
        return float(-log_softmax(math.exp(log_beta) * logits, axis=1)[np.arange(len(y)), y].mean())

    return math.exp(float(minimize_scalar(log_loss, bounds=(-5.0, 5.0), method="bounded").x))


def fit_fusion(logits: np.ndarray, tree_log_proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The weights ``(beta, gamma)`` minimising the log loss of ``softmax(beta * logits + gamma *
    tree_log_proba)``: temperature scaling of the linear scores and the trees' say beside them, in one fit
    (``gamma`` 0 when the trees add nothing)."""
    rows = np.arange(len(y))

    def log_loss(w: np.ndarray) -> float:
        return float(-log_softmax(w[0] * logits + w[1] * tree_log_proba, axis=1)[rows, y].mean())

    start = np.array([fit_temperature(logits, y), 0.5])
    found = minimize(log_loss, start, method="L-BFGS-B", bounds=[(1e-3, 150.0), (0.0, 10.0)])
    return float(found.x[0]), float(found.x[1])


def precision_threshold(
    top: np.ndarray, correct: np.ndarray, *, target: float, confidence: float = 0.95, grid: int = 50
) -> float | None:
    """The lowest confidence threshold whose auto-routed tickets reach precision ``target`` with statistical
    ``confidence``: the one-sided Clopper-Pearson lower bound of the precision among held-out tickets at or
    above the threshold must reach the target. Thresholds are tried on a fixed grid with a Bonferroni
    correction, so the guarantee holds for the one chosen. ``None`` when no threshold reaches the target."""
    from scipy.stats import beta

    alpha = (1.0 - confidence) / grid
    best = None
    for t in np.linspace(1.0, 0.0, grid, endpoint=False)[::-1]:  # ascending: lowest threshold first
        routed = top >= t
        n, k = int(routed.sum()), int(correct[routed].sum())
        if n and k and beta.ppf(alpha, k, n - k + 1) >= target:
            best = float(t)
            break
    return best


class ClassThreshold(BaseModel):
    """The auto-routing threshold of one class and where it comes from (kept as is in the bundle manifest)."""

    threshold: float | None = Field(description="null: never auto-routed")
    source: str = Field(
        description="class: its own held-out tickets certify the target at this threshold; pooled: the head's "
        "threshold, nothing in the class's own tickets says it is worse than the target there; unreachable: "
        "its own tickets show a precision below the target and certify no threshold"
    )
    n_heldout: int = Field(description="held-out tickets predicted as this class that chose the threshold")


def class_thresholds(
    top: np.ndarray,
    pred: np.ndarray,
    correct: np.ndarray,
    n_classes: int,
    *,
    target: float,
    head_threshold: float | None,
    confidence: float = 0.95,
    grid: int = 50,
) -> list[ClassThreshold]:
    """A threshold per predicted class (index into the head's classes) from held-out tickets.

    Each class starts from the head's certified threshold (``head_threshold``, pooled over its classes) and
    departs from it only on its own evidence: a class whose own held-out tickets certify ``target`` at a
    lower threshold (:func:`precision_threshold`) gets that one; a class whose tickets above the head's
    threshold show a precision below the target (one-sided Clopper-Pearson upper bound under the target at
    ``confidence``, Bonferroni-corrected over the classes so that chance alone rarely condemns one of many)
    gets its own, higher certified threshold, or is never auto-routed when it has none. A small class
    rarely certifies alone (100 held-out tickets, all right, give a 95% lower bound of about 0.93 after the
    grid correction), hence the pooling. A head that reaches no target pools nothing.
    """
    from scipy.stats import beta

    result = []
    for c in range(n_classes):
        mine = pred == c
        n_mine = int(mine.sum())
        own = precision_threshold(top[mine], correct[mine], target=target, confidence=confidence, grid=grid)
        alone = ClassThreshold(threshold=own, source="class" if own is not None else "unreachable", n_heldout=n_mine)
        if head_threshold is None or (own is not None and own <= head_threshold):
            result.append(alone)  # nothing to pool with, or certified alone below the head's threshold
            continue
        routed = mine & (top >= head_threshold)
        n, k = int(routed.sum()), int(correct[routed].sum())
        below_target = n > k and beta.ppf(1.0 - (1.0 - confidence) / n_classes, k + 1, n - k) < target
        # shown worse than the target at the head's threshold: its own, higher one, or never
        result.append(
            alone if below_target else ClassThreshold(threshold=head_threshold, source="pooled", n_heldout=n_mine)
        )
    return result


def conformal_quantile(sorted_scores: np.ndarray, coverage: float) -> float:
    """Split-conformal threshold: the ``ceil((n+1) * coverage) / n`` empirical quantile of the calibration
    non-conformity scores, given in ascending order (they are sorted once at fit, not per request);
    1 means "every label", when there are too few scores for that coverage."""
    n = len(sorted_scores)
    rank = math.ceil((n + 1) * coverage)
    return 1.0 if rank > n else float(sorted_scores[rank - 1])


class CalibratedLinearHead(ClassifierMixin, BaseEstimator):
    """Linear SVM (or logistic regression) with temperature-scaled probabilities and prediction sets,
    optionally fused with boosted trees (``trees=True``, see :class:`~triage.models.trees.WordTrees`).

    Out-of-fold scores (``calibration_folds`` folds) are split in two halves of tickets that no scoring model
    saw: the temperature (with trees: the temperature and the trees' weight, :func:`fit_fusion`) is fitted on
    one; the other gives the split-conformal scores behind :meth:`prediction_sets` (so the sets' coverage
    holds for tickets like the training ones). The linear classifier is then refitted on all tickets; the
    trees are the fold models themselves, averaged (refitting them would cost another fit for little).
    Without trees, temperature scaling keeps the arg-max, so calibration never changes which label is
    predicted; with trees the fused scores decide.

    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]] * 3)
    >>> head = CalibratedLinearHead(calibration_folds=3).fit(X, ["a", "a", "a", "b", "b", "b"] * 3)
    >>> head.predict(np.array([[0.05], [1.15]])).tolist()
    ['a', 'b']
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions({"svm", "logistic"})],
        "class_weight": [StrOptions({"balanced"}), None],
        "calibration_folds": [Interval(Integral, 2, None, closed="left")],
        "trees": ["boolean"],
        "tree_columns": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        C: float = 0.5,
        loss: str = "svm",
        class_weight: str | None = "balanced",
        calibration_folds: int = 3,
        trees: bool = False,
        tree_columns: int | None = None,
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.C = C
        self.loss = loss
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.trees = trees
        self.tree_columns = tree_columns
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _base(self) -> BaseEstimator:
        if self.loss == "logistic":
            return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=3000)
        return LinearSVC(C=self.C, class_weight=self.class_weight)

    def fit(
        self, X: Any, y: Any, *, folds: np.ndarray | None = None, fold_X: Sequence[Any] | None = None
    ) -> CalibratedLinearHead:
        """Fit on features ``X`` and string labels ``y``; every class needs ``calibration_folds`` examples.

        ``folds`` (a fold number per row) with ``fold_X`` (one feature matrix per fold) cross-fit features that
        were themselves learned from the tickets (a fine-tuned encoder, :mod:`triage.features.finetune`): the
        rows of fold ``k`` are scored out of fold on ``fold_X[k]`` by a model fitted on its other rows."""
        self._validate_params()
        if (folds is None) != (fold_X is None):
            raise ValueError("folds and fold_X go together")
        y = np.asarray(y, dtype=object)
        labels, y_index, counts = np.unique(y, return_inverse=True, return_counts=True)
        if len(labels) < 2:
            raise ValueError(f"a head needs at least 2 classes, got {labels.tolist()}")
        if counts.min() < self.calibration_folds:
            rare = labels[counts < self.calibration_folds].tolist()
            raise ValueError(f"classes {rare} have fewer than calibration_folds={self.calibration_folds} examples")
        held_out, tree_log, self.estimator_, self.trees_ = self._fit_models(X, y, y_index, folds, fold_X)
        calibration, conformal = train_test_split(
            np.arange(len(y)),
            test_size=0.5,
            random_state=self.random_state,
            stratify=y_index if counts.min() >= 2 else None,
        )
        if tree_log is None:
            self.beta_, self.tree_weight_ = fit_temperature(held_out[calibration], y_index[calibration]), 0.0
            fused = self.beta_ * held_out
        else:
            self.beta_, self.tree_weight_ = fit_fusion(
                held_out[calibration], tree_log[calibration], y_index[calibration]
            )
            fused = self.beta_ * held_out + self.tree_weight_ * tree_log
        proba = softmax(fused[conformal])
        self.conformal_scores_ = np.sort(1.0 - proba[np.arange(len(conformal)), y_index[conformal]])
        # The same held-out half, kept compactly for choosing thresholds and calibrating novelty: which
        # training rows, their top probability, predicted class (index into classes_) and correctness.
        self.heldout_index_ = np.asarray(conformal)
        self.heldout_top_ = proba.max(axis=1).astype(np.float32)
        self.heldout_pred_ = proba.argmax(axis=1)
        self.heldout_correct_ = self.heldout_pred_ == y_index[conformal]
        self.classes_ = self.estimator_.classes_
        self.n_train_ = len(y)
        return self

    def _fit_models(
        self,
        X: Any,
        y: np.ndarray,
        y_index: np.ndarray,
        given_folds: np.ndarray | None = None,
        fold_X: Sequence[Any] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, Any, list[WordTrees]]:
        """Out-of-fold linear scores, with ``trees`` the trees' out-of-fold log-probabilities, the linear model
        fitted on every ticket, and the fold trees (kept for prediction, empty without ``trees``). Each ticket
        is scored by models that never saw it (with ``given_folds``, on its fold's own features ``fold_X[k]``;
        the trees read the word block, the same in every fold). The fits are independent and release the GIL:
        ``n_jobs`` threads run them (``None``: one per core), each tree model on one thread."""
        if given_folds is None or fold_X is None:
            folds = list(
                StratifiedKFold(self.calibration_folds, shuffle=True, random_state=self.random_state).split(
                    np.zeros(len(y)), y_index
                )
            )
            fold_X = [X] * len(folds)
        else:
            given_folds = np.asarray(given_folds)
            if len(given_folds) != len(y) or set(np.unique(given_folds).tolist()) - set(range(len(fold_X))):
                raise ValueError(f"folds must give each of the {len(y)} rows a number below {len(fold_X)}")
            folds = [(np.flatnonzero(given_folds != k), np.flatnonzero(given_folds == k)) for k in range(len(fold_X))]
        labels = np.unique(y)

        def linear(rows: np.ndarray | None, features: Any = X) -> Any:  # None: every ticket, X itself, no copy
            return self._base().fit(X, y) if rows is None else self._base().fit(features[rows], y[rows])

        def scores(model: Any, features: Any) -> np.ndarray:
            """A fold model's scores in every class's column (a class it never saw scores below all others)."""
            found = as_logits(model.decision_function(features))
            if found.shape[1] == len(labels):
                return found
            full = np.full((found.shape[0], len(labels)), found.min() - 1.0)
            full[:, np.searchsorted(labels, model.classes_)] = found
            return full

        # the trees read only the word block: its rows are copied per fold, not those of the whole matrix
        words = X[:, : self.tree_columns] if self.trees and self.tree_columns is not None else X

        def trees(rows: np.ndarray) -> WordTrees:
            model = WordTrees(columns=self.tree_columns, random_state=self.random_state, n_jobs=1)
            return model.fit(words[rows], y_index[rows])

        with ThreadPoolExecutor(self.n_jobs or os.cpu_count()) as pool:
            full = pool.submit(linear, None)  # the longest fit first
            fold_linear = [pool.submit(linear, rows, F) for (rows, _), F in zip(folds, fold_X, strict=True)]
            fold_trees = [pool.submit(trees, fit_rows) for fit_rows, _ in folds] if self.trees else []
            held_out = np.zeros((len(y), len(np.unique(y_index))))
            for (_, out_rows), model, F in zip(folds, fold_linear, fold_X, strict=True):
                held_out[out_rows] = scores(model.result(), F[out_rows])
            trees_fitted = [future.result() for future in fold_trees]
            estimator = full.result()
        if not trees_fitted:
            return held_out, None, estimator, []
        tree_proba = np.zeros_like(held_out)
        for (_, out_rows), model in zip(folds, trees_fitted, strict=True):
            tree_proba[out_rows] = model.predict_proba(X[out_rows])
        return held_out, clipped_log(tree_proba), estimator, trees_fitted

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities, columns aligned with ``classes_``. Applies the linear scores, the trees
        and the temperature directly: no per-call validation on the hot API path."""
        check_is_fitted(self, "estimator_")
        scores = np.asarray(safe_sparse_dot(X, self._weights())) + self.estimator_.intercept_
        logits = self.beta_ * as_logits(scores)
        if self.trees_:
            logits = logits + self.tree_weight_ * log_proba(self.trees_, X)
        return softmax(logits)

    def _weights(self) -> np.ndarray:
        """The linear model's coefficients transposed (features x classes), C-contiguous. scipy multiplies a
        sparse matrix by a dense one through its flat C-ordered buffer, so ``X @ coef_.T`` copied the whole
        coefficient matrix on every call when ``coef_`` is C-ordered, as a freshly fitted model's is (20 ms a
        call with 300,000 TF-IDF columns; a loaded bundle's come the other way). Laid out once, in place:
        ``coef_`` becomes a view of the same numbers, no second copy is kept."""
        coef = self.estimator_.coef_
        if not coef.T.flags.c_contiguous:
            self.estimator_.coef_ = coef = np.ascontiguousarray(coef.T).T  # a benign race: same values
        return coef.T

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def prediction_sets(self, proba: np.ndarray, coverage: float) -> np.ndarray:
        """Boolean mask (rows x classes) of the labels in each ticket's conformal prediction set: the set
        holds the true label with probability at least ``coverage`` (split-conformal, LAC score
        ``1 - p(label)``). The most probable label is always in the set, so no set is empty."""
        check_is_fitted(self, "conformal_scores_")
        sets = proba >= 1.0 - conformal_quantile(self.conformal_scores_, coverage)
        sets[np.arange(len(proba)), proba.argmax(axis=1)] = True
        return sets
