from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triage.decision import Outcome, Triager, priority_rank
from triage.models import load_bundle

HEADS = ("category", "priority", "tier")


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


TEXTS = [
    "printer jam on floor 2, whole team blocked",
    "password reset please",
    "VPN keeps dropping when I work from home",
    "new laptop for the intern starting monday",
    "database server not responding, payroll run failing",
]


def test_each_predicted_class_uses_its_own_threshold(trained_bundle: Path) -> None:
    from triage.models.head import ClassThreshold

    bundle = load_bundle(trained_bundle)
    info = bundle.manifest.heads["category"]
    predicted = bundle.model.classes("category")[Triager(bundle).assess(TEXTS).probabilities["category"].argmax(1)]
    refused = str(predicted[0])
    info.class_thresholds = {
        label: ClassThreshold(threshold=None if label == refused else 0.0, source="test", n_heldout=0)
        for label in info.labels
    }
    triager = Triager(bundle)
    confident = triager.assess(TEXTS).confident["category"]
    assert (confident == (predicted != refused)).all()
    decision = triager.decide(TEXTS[:1])[0]
    assert decision.heads["category"].threshold == 1.0 and not decision.heads["category"].confident
    assert any(r.code == "low_confidence" and "never auto-routed" in r.message for r in decision.reasons)
    # a setting for the whole head overrides the bundle's per-class thresholds
    assert Triager(bundle, thresholds={"category": 0.0}).assess(TEXTS).confident["category"].all()


def test_tier_rule_defers_when_another_tier_costs_less_in_expectation(trained_bundle: Path) -> None:
    bundle = load_bundle(trained_bundle)
    tiers = list(bundle.model.classes("tier"))
    assert tiers == ["L1", "L2", "L3"]
    triager = Triager(bundle, tier_under_cost=5.0, tier_over_cost=1.0)
    assessment = triager.assess(TEXTS * 20)
    p = assessment.probabilities["tier"]

    def cost(true: int, routed: int) -> float:  # 5 per line too low (bounces back), 1 per line too high
        return 5.0 * (true - routed) if true > routed else float(routed - true)

    costs = np.array([[sum(row[i] * cost(i, j) for i in range(3)) for j in range(3)] for row in p])
    assert np.allclose(assessment.tier_cost, costs)
    assert (assessment.tier_risk == (costs.argmin(1) != p.argmax(1))).all()
    assert not assessment.auto_route[assessment.tier_risk].any()
    # costly under-routing: a lower tier is only ever questioned in favour of a higher one
    assert (costs.argmin(1)[assessment.tier_risk] > p.argmax(1)[assessment.tier_risk]).all()
    # when routing too low costs nothing, the cheaper tier is never a higher one
    cheap_under = Triager(bundle, tier_under_cost=0.0, tier_over_cost=1.0).assess(TEXTS)
    assert (cheap_under.tier_cost.argmin(1) <= cheap_under.probabilities["tier"].argmax(1)).all()
    assert Triager(bundle, tier_under_cost=None).assess(TEXTS).tier_risk is None


def test_tier_risk_is_a_listed_reason(trained_bundle: Path) -> None:
    bundle = load_bundle(trained_bundle)
    triager = Triager(bundle, tier_under_cost=1000.0)  # any chance of a higher tier outweighs the rest
    assessment = triager.assess(TEXTS)
    assert assessment.tier_risk.any()
    for decision, risky in zip(triager.decide(TEXTS), assessment.tier_risk, strict=True):
        reasons = [r for r in decision.reasons if r.code == "tier_risk"]
        assert bool(reasons) == bool(risky)
        if reasons:
            assert reasons[0].head == "tier" and "bounces back" in reasons[0].message
            assert decision.outcome == "needs_review"


def test_tier_order_can_be_configured() -> None:
    from triage.decision import _ordered

    assert _ordered(["L3", "L1", "L2"], None) == ["L1", "L2", "L3"]
    assert _ordered(["service desk", "network team", "dba"], ["service desk", "network team"]) == [
        "service desk",
        "network team",
        "dba",
    ]


def test_joint_decision_needs_every_head_confident_a_familiar_ticket_and_no_rule(
    trained_bundle: Path, ordinary_tickets: pd.DataFrame
) -> None:
    bundle = load_bundle(trained_bundle)
    open_gate = {"thresholds": {"category": 0.0, "priority": 0.0, "tier": 0.0}, "priority_guard": None}
    relaxed = Triager(bundle, **open_gate, tier_under_cost=None)
    texts = ordinary_tickets["text"].tolist()[:200]
    familiar = ~relaxed.assess(texts).unfamiliar
    assert familiar.any() and not familiar.all()  # both kinds among ordinary tickets
    for decision, ok in zip(relaxed.decide(texts), familiar, strict=True):
        assert (decision.outcome == "auto_route") == bool(ok)
        assert [r.code for r in decision.reasons] == ([] if ok else ["unfamiliar"])
    # one head held to an impossible threshold: every ticket needs review, for that head only
    strict_priority = Triager(bundle, **{**open_gate, "thresholds": {**open_gate["thresholds"], "priority": 1.01}})
    for decision in strict_priority.decide(TEXTS):
        assert decision.outcome == "needs_review"
        assert [(r.code, r.head) for r in decision.reasons if r.code == "low_confidence"] == [
            ("low_confidence", "priority")
        ]
        assert decision.heads["priority"].label and decision.heads["category"].confident  # suggestions still given
    # a ticket flagged unfamiliar is never auto-routed, however confident; all reasons are listed together
    detector = bundle.model.novelty_
    saved = detector.threshold_
    try:
        detector.threshold_ = -1.0  # every ticket looks unfamiliar
        both = Triager(bundle, **{**open_gate, "thresholds": {**open_gate["thresholds"], "tier": 1.01}})
        for decision in both.decide(TEXTS):
            codes = {r.code for r in decision.reasons}
            assert decision.outcome == "needs_review" and {"unfamiliar", "low_confidence"} <= codes
    finally:
        detector.threshold_ = saved


def test_ordinary_tickets_are_auto_routed_or_deferred_with_the_reasons_that_apply(
    trained_bundle: Path, ordinary_tickets: pd.DataFrame
) -> None:
    triager = Triager(load_bundle(trained_bundle))
    texts = ordinary_tickets["text"].tolist()
    decisions = triager.decide(texts)
    unfamiliar = triager.assess(texts).unfamiliar
    routed = np.array([d.outcome == Outcome.AUTO_ROUTE for d in decisions])
    assert 0.15 < routed.mean() < 0.6  # both outcomes in earnest: about a third of these tickets are auto-routed
    rules = {("unfamiliar", None), ("priority_risk", "priority"), ("tier_risk", "tier")}
    for decision, is_unfamiliar in zip(decisions, unfamiliar, strict=True):
        assert set(decision.heads) == set(HEADS) and decision.model_version == triager.version
        for s in decision.heads.values():  # confident: the label's confidence reaches its threshold (shown rounded)
            assert s.confident == (s.confidence >= s.threshold) or abs(s.confidence - s.threshold) < 1e-4
            assert s.label in s.prediction_set or not s.prediction_set
        unsure = {head for head, s in decision.heads.items() if not s.confident}
        reasons = {(r.code, r.head) for r in decision.reasons}
        if decision.outcome == Outcome.AUTO_ROUTE:
            assert decision.reasons == [] and not unsure and not is_unfamiliar
        else:  # every reason that applies is listed, and no other
            assert decision.reasons
            assert {head for code, head in reasons if code == "low_confidence"} == unsure
            assert (("unfamiliar", None) in reasons) == bool(is_unfamiliar)
            assert reasons <= {("low_confidence", head) for head in unsure} | rules
            for reason in decision.reasons:
                if reason.code == "low_confidence":
                    assert reason.head is not None and decision.heads[reason.head].label in reason.message
    for head in HEADS:
        right = np.array([d.heads[head].label for d in decisions]) == ordinary_tickets[head].to_numpy()
        target = triager.bundle.manifest.heads[head].precision_target
        assert target is not None and right[routed].mean() >= target - 0.05  # certified on other tickets
        assert right[routed].mean() > right[~routed].mean()  # it defers the tickets it tends to get wrong


def test_rules_defer_tickets_that_every_head_is_confident_about(
    trained_bundle: Path, ordinary_tickets: pd.DataFrame
) -> None:
    bundle = load_bundle(trained_bundle)
    texts = ordinary_tickets["text"].tolist()
    assessment = Triager(bundle).assess(texts)
    confident = np.logical_and.reduce([assessment.confident[h] for h in HEADS]) & ~assessment.unfamiliar
    assert assessment.priority_risk is not None and assessment.tier_risk is not None
    vetoed = confident & ~assessment.auto_route
    assert assessment.auto_route.any() and vetoed.any()
    assert np.array_equal(vetoed, confident & (assessment.priority_risk | assessment.tier_risk))
    for decision in Triager(bundle).decide([t for t, v in zip(texts, vetoed, strict=True) if v]):
        assert decision.outcome == Outcome.NEEDS_REVIEW and all(s.confident for s in decision.heads.values())
        assert decision.reasons and {r.code for r in decision.reasons} <= {"priority_risk", "tier_risk"}
    # without the rules, exactly the confident and familiar tickets are auto-routed
    unruled = Triager(bundle, priority_guard=None, tier_under_cost=None).assess(texts)
    assert np.array_equal(unruled.auto_route, confident)
