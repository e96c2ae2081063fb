from pathlib import Path

import numpy as np
import pytest

from triage.decision import Triager, priority_rank
from triage.models import load_bundle


@pytest.mark.parametrize(
    "labels",
    [
        ["P1", "P2", "P3", "P10"],
        ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"],
        ["Critical", "High", "Medium", "Low"],
    ],
)
def test_priority_rank_puts_the_most_urgent_first(labels: list[str]) -> None:
    assert sorted(reversed(labels), key=priority_rank) == labels


def test_priority_rank_never_fails_on_mixed_label_styles() -> None:
    ranked = sorted(["low", "P2", "1 - Critical", "urgent"], key=priority_rank)
    assert set(ranked[:2]) == {"1 - Critical", "urgent"} and ranked[2] == "low"


def test_a_lower_priority_is_not_auto_assigned_while_the_top_one_is_likely(trained_bundle: Path) -> None:
    bundle = load_bundle(trained_bundle)
    texts = ["printer jam on floor 2, whole team blocked, production is down", "toner empty, no rush"]
    guarded = Triager(bundle, default_threshold=0.0, priority_guard=0.0)
    assert guarded.urgent == ["P1"]
    assessment = guarded.assess(texts)
    predicted = bundle.model.classes("priority")[assessment.probabilities["priority"].argmax(axis=1)]
    assert (assessment.priority_risk == (predicted != "P1")).all()  # guard 0: every lower priority is deferred
    for decision, label in zip(guarded.decide(texts), predicted, strict=True):
        codes = [r.code for r in decision.reasons]
        assert ("priority_risk" in codes) == (label != "P1")
    relaxed = Triager(bundle, default_threshold=0.0, priority_guard=1.0, priority_order=["P4"])
    assert relaxed.urgent == ["P4"]
    assert not relaxed.assess(texts).priority_risk.any()
    off = Triager(bundle, priority_guard=None).assess(texts)
    assert off.priority_risk is None and np.array_equal(off.auto_route, off.auto_route & ~off.unfamiliar)
