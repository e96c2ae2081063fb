import numpy as np
import pytest

from triage.evaluation import expected_calibration_error
from triage.models import CalibratedLinearHead
from triage.models.head import class_thresholds, conformal_quantile, precision_threshold


def blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0], [2, 0], [0, 2]])
    y = rng.integers(0, 3, n)
    return centers[y] + rng.normal(0, 0.9, (n, 2)), np.array(["net", "print", "vpn"])[y]


def test_probabilities_align_with_string_classes_and_are_calibrated() -> None:
    X, y = blobs(3000)
    head = CalibratedLinearHead().fit(X, y)
    assert head.classes_.tolist() == ["net", "print", "vpn"]
    X_test, y_test = blobs(3000, seed=1)
    proba = head.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (head.predict(X_test) == head.classes_[proba.argmax(1)]).all()
    correct = head.predict(X_test) == y_test
    assert expected_calibration_error(proba.max(1), correct) < 0.05


def test_a_class_too_rare_for_calibration_is_refused_with_its_name() -> None:
    X, y = blobs(60)
    y[:2] = "rare"
    y[2:] = np.where(y[2:] == "rare", "net", y[2:])
    with pytest.raises(ValueError, match=r"\['rare'\]"):
        CalibratedLinearHead(calibration_folds=3).fit(X, y)


def test_invalid_parameter_fails_at_fit() -> None:
    X, y = blobs(30)
    with pytest.raises(ValueError, match="loss"):
        CalibratedLinearHead(loss="forest").fit(X, y)


@pytest.mark.parametrize("loss", ["svm", "logistic"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_are_the_temperature_scaled_linear_scores(loss: str, n_classes: int) -> None:
    X, y = blobs(600)
    keep = np.isin(y, ["net", "print", "vpn"][:n_classes])
    head = CalibratedLinearHead(loss=loss).fit(X[keep], y[keep])
    scores = head.estimator_.decision_function(X)
    logits = np.column_stack([-scores, scores]) if n_classes == 2 else scores
    expected = np.exp(head.beta_ * logits) / np.exp(head.beta_ * logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(head.predict_proba(X), expected, rtol=1e-6)
    assert (head.predict(X) == head.estimator_.predict(X)).all()  # calibration keeps the arg-max


@pytest.mark.parametrize("coverage", [0.8, 0.9, 0.95])
def test_prediction_sets_reach_their_coverage_on_new_tickets(coverage: float) -> None:
    X, y = blobs(4000)
    head = CalibratedLinearHead().fit(X, y)
    X_test, y_test = blobs(4000, seed=2)
    sets = head.prediction_sets(head.predict_proba(X_test), coverage)
    covered = sets[np.arange(len(y_test)), np.searchsorted(head.classes_, y_test)]
    assert coverage - 0.02 <= covered.mean() <= coverage + 0.05  # at least the target, not much more
    assert 1 <= sets.sum(axis=1).mean() < 3  # informative: smaller than "every label"


def test_too_few_calibration_tickets_give_every_label() -> None:
    assert conformal_quantile(np.array([0.1, 0.2]), 0.95) == 1.0
    assert conformal_quantile(np.linspace(0, 1, 101), 0.9) == pytest.approx(0.91)  # the 92nd of 101 scores


def test_precision_threshold_reaches_the_target_with_confidence() -> None:
    rng = np.random.default_rng(0)
    top = rng.uniform(0.3, 1.0, 20_000)
    correct = rng.uniform(size=top.size) < top  # calibrated: precision above t is (1 + t) / 2
    threshold = precision_threshold(top, correct, target=0.9)
    assert threshold is not None and 0.8 <= threshold <= 0.86
    assert correct[top >= threshold].mean() >= 0.9
    assert precision_threshold(top[:40], correct[:40], target=0.99) is None  # too few tickets to certify


def test_class_thresholds_certify_pool_or_refuse_each_class() -> None:
    rng = np.random.default_rng(1)
    # class 0: many calibrated tickets (certifies alone); class 1: 30 tickets, all right (too few alone);
    # class 2: many tickets, 70% right whatever the confidence (cannot reach the target)
    top0 = rng.uniform(0.5, 1.0, 6000)
    top1 = rng.uniform(0.9, 1.0, 30)
    top2 = rng.uniform(0.5, 1.0, 600)
    top = np.concatenate([top0, top1, top2])
    pred = np.repeat([0, 1, 2], [6000, 30, 600])
    correct = np.concatenate([rng.uniform(size=6000) < top0, np.ones(30, bool), rng.uniform(size=600) < 0.7])
    head = precision_threshold(top, correct, target=0.9)
    assert head is not None
    own, pooled, refused = class_thresholds(top, pred, correct, 3, target=0.9, head_threshold=head)
    assert (
        own.source == "class" and own.n_heldout == 6000 and correct[(pred == 0) & (top >= own.threshold)].mean() >= 0.9
    )
    assert pooled.source == "pooled" and pooled.threshold == pytest.approx(head)
    assert refused.source == "unreachable" and refused.threshold is None
    # a head that reaches no target pools nothing: a class that cannot certify alone is never routed
    assert class_thresholds(top, pred, correct, 3, target=0.9, head_threshold=None)[1].source == "unreachable"
    # a class never predicted on held-out tickets pools with its head
    assert class_thresholds(top, pred, correct, 4, target=0.9, head_threshold=head)[3].threshold == pytest.approx(head)


def test_a_class_worse_than_its_head_gets_its_own_higher_threshold() -> None:
    rng = np.random.default_rng(2)
    top = rng.uniform(0.5, 1.0, 5000)
    correct = (top >= 0.9) | (rng.uniform(size=5000) < 0.5)  # right above 0.9, a coin flip below
    (worse,) = class_thresholds(top, np.zeros(5000, int), correct, 1, target=0.95, head_threshold=0.7)
    assert worse.source == "class" and 0.88 <= worse.threshold <= 0.92
