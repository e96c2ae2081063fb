import numpy as np
import pytest
from sklearn.svm import LinearSVC

from triage.models.novelty_rate import simulate_new_kinds


def topics(n_classes: int, per_class: int, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tickets around ``n_classes`` topic centres; a larger ``spread`` puts the topics further apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, 16)) * spread
    y = np.repeat(np.arange(n_classes), per_class)
    return centres[y] + rng.normal(size=(len(y), 16)), np.array([f"topic {k}" for k in y])


def classifier() -> LinearSVC:
    return LinearSVC(C=0.5)


def test_the_chosen_rate_defers_the_wanted_share_of_simulated_new_kinds() -> None:
    Z, y = topics(12, 80, spread=1.0)  # topics that overlap: some rate above the lowest is needed
    choice = simulate_new_kinds(Z, Z, y, classifier, target=0.9, seconds=60, max_passes=1, seed=0)
    assert choice.reached and choice.new_kinds_deferred is not None
    assert choice.new_kinds_deferred >= 0.9
    assert choice.rounds >= 2 and choice.hidden_per_round == 1 and choice.classes_hidden >= 2
    # the least cost: one step lower on the grid no longer reaches the target
    lower = simulate_new_kinds(
        Z, Z, y, classifier, target=0.9, seconds=60, max_passes=1, seed=0, max_rate=choice.false_alarm_rate - 0.005
    )
    assert not lower.reached
    # ordinary tickets are flagged at about the rate chosen (the conformal guarantee, on held-out tickets)
    assert choice.ordinary_flagged == pytest.approx(choice.false_alarm_rate, abs=0.06)
    assert "rounds" in choice.reason and f"{choice.false_alarm_rate:.3f}" in choice.reason


def test_new_kinds_far_from_the_known_ones_need_a_lower_rate_than_close_ones() -> None:
    choices = {}
    for spread in (1.0, 6.0):
        Z, y = topics(12, 60, spread=spread)
        # no precision target (threshold 0.5): deferral by the novelty check, not by an unreachable target
        choices[spread] = simulate_new_kinds(Z, Z, y, classifier, precision_target=None, seconds=3, seed=0)
    close, far = choices[1.0], choices[6.0]
    assert far.auroc is not None and close.auroc is not None and far.auroc > close.auroc
    assert far.false_alarm_rate < close.false_alarm_rate


def test_the_time_budget_limits_the_rounds_but_two_always_run() -> None:
    Z, y = topics(20, 20, spread=2.0)
    quick = simulate_new_kinds(Z, Z, y, classifier, seconds=1e-6, seed=0)
    assert quick.rounds == 2
    longer = simulate_new_kinds(Z, Z, y, classifier, seconds=60, seed=0)
    assert longer.rounds == 2 * (20 // longer.hidden_per_round)  # two passes over the classes, then it stops
    assert longer.classes_hidden == 20


def test_too_few_classes_keep_the_fallback_rate() -> None:
    Z, y = topics(3, 50, spread=3.0)
    choice = simulate_new_kinds(Z, Z, y, classifier, fallback=0.2)
    assert choice.false_alarm_rate == 0.2 and not choice.reached and choice.rounds == 0
    assert "too few" in choice.reason
