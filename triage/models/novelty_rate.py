"""Choosing the novelty check's false-alarm rate from the desk's own tickets.

A desk cannot know how unlike its usual tickets the next new kind of request will be. Its own history can
simulate one: hide a few known classes at a time (leave-classes-out), fit the classifier and the novelty
check on the other classes as training does, and see how the hidden classes' tickets score against ordinary
held-out tickets. The rate chosen is the lowest false-alarm rate at which the wanted share of those simulated
new kinds is deferred (flagged unfamiliar, or below the head's certified threshold): the least cost in
ordinary tickets. Each round is one linear fit; rounds run until a time budget is spent.

>>> import numpy as np
>>> from sklearn.svm import LinearSVC
>>> rng = np.random.default_rng(0)
>>> centres = rng.normal(size=(8, 16)) * 3
>>> y = np.repeat(np.arange(8).astype(str), 60)
>>> Z = centres[y.astype(int)] + rng.normal(size=(480, 16))
>>> result = simulate_new_kinds(Z, Z, y, lambda: LinearSVC(), target=0.9, seconds=5, seed=0)
>>> 0 < result.false_alarm_rate <= 0.5 and result.rounds >= 2
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils.extmath import softmax

from triage.models.head import as_logits, fit_temperature, precision_threshold
from triage.models.novelty import NearestNeighbourNovelty

RATES = np.round(np.arange(0.01, 0.5001, 0.005), 3)


class NoveltyRateChoice(BaseModel):
    """How the false-alarm rate was chosen, kept in the bundle manifest (``training.novelty_rate``)."""

    false_alarm_rate: float = Field(description="the rate chosen (or the fallback when no simulation could run)")
    target: float = Field(description="share of simulated new kinds of request that should be deferred")
    reached: bool = Field(description="whether some rate up to the largest allowed reached the target")
    new_kinds_deferred: float | None = Field(None, description="estimated share of new-kind tickets deferred")
    new_kinds_flagged: float | None = Field(None, description="... of them flagged unfamiliar")
    ordinary_flagged: float | None = Field(None, description="share of ordinary held-out tickets flagged")
    ordinary_deferred: float | None = Field(None, description="... deferred (flagged or below the threshold)")
    spread: tuple[float, float] | None = Field(None, description="lowest and highest new kinds deferred in a round")
    auroc: float | None = Field(None, description="how well the novelty score separates new kinds from ordinary")
    rounds: int = 0
    hidden_per_round: int = 0
    classes_hidden: int = 0
    new_kind_tickets: int = 0
    ordinary_tickets: int = 0
    seconds: float = 0.0
    reason: str = ""


def _split(rows: np.ndarray, y: np.ndarray, size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.unique(y[rows], return_counts=True)[1]
    strata = y[rows] if counts.min() >= 2 and len(counts) <= size * len(rows) else None
    first, second = train_test_split(rows, test_size=size, random_state=seed, stratify=strata)
    return np.asarray(first), np.asarray(second)


def _round(
    X: Any,
    Z: Any,
    y: np.ndarray,
    hidden: np.ndarray,
    make_classifier: Callable[[], Any],
    *,
    precision_target: float | None,
    max_tickets: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """One leave-classes-out round: the novelty scores and deferrals of ordinary and new-kind tickets."""
    rng = np.random.default_rng(seed)
    is_hidden = np.isin(y, hidden)
    known, novel = np.flatnonzero(~is_hidden), np.flatnonzero(is_hidden)
    if len(known) > max_tickets:
        known = np.sort(rng.choice(known, max_tickets, replace=False))
    if len(novel) > max_tickets // 4:
        novel = np.sort(rng.choice(novel, max_tickets // 4, replace=False))
    fit_rows, rest = _split(known, y, 0.4, seed)
    calibration, ordinary = _split(rest, y, 0.5, seed)
    clf = make_classifier().fit(X[fit_rows], y[fit_rows])
    classes = list(clf.classes_)

    def confidence(rows: np.ndarray, beta: float = 1.0) -> np.ndarray:
        return softmax(beta * as_logits(clf.decision_function(X[rows])))

    index = {c: i for i, c in enumerate(classes)}
    y_cal = np.array([index.get(c, -1) for c in y[calibration]])
    seen = y_cal >= 0
    logits_cal = as_logits(clf.decision_function(X[calibration]))
    beta = fit_temperature(logits_cal[seen], y_cal[seen])
    proba_cal = softmax(beta * logits_cal)
    top_cal = proba_cal.max(axis=1)
    threshold = (
        0.5
        if precision_target is None
        else precision_threshold(top_cal, proba_cal.argmax(axis=1) == y_cal, target=precision_target)
    )
    reference = np.concatenate([fit_rows, calibration])
    detector = NearestNeighbourNovelty(false_alarm_rate=0.5, random_state=seed).fit(
        Z[reference], confidence=top_cal, calibration_rows=np.arange(len(fit_rows), len(reference))
    )
    out = {}
    for name, rows in (("ordinary", ordinary), ("novel", novel)):
        top = confidence(rows, beta).max(axis=1)
        unsure = np.ones(len(rows), bool) if threshold is None else top < threshold
        out[name] = detector.score(Z[rows], top)
        out[f"{name}_unsure"] = unsure
    return out


def _hidden_sets(classes: np.ndarray, per_round: int, rounds: int, seed: int) -> list[np.ndarray]:
    """Classes to hide in each round: passes over a shuffled list, so every class is hidden before any twice."""
    rng = np.random.default_rng(seed)
    sets: list[np.ndarray] = []
    while len(sets) < rounds:
        order = rng.permutation(classes)
        sets += [order[i : i + per_round] for i in range(0, len(order) - per_round + 1, per_round)]
    return sets[:rounds]


def simulate_new_kinds(
    X: Any,
    Z: Any,
    y: np.ndarray,
    make_classifier: Callable[[], Any],
    *,
    target: float = 0.9,
    seconds: float = 30.0,
    precision_target: float | None = 0.95,
    fallback: float = 0.2,
    hidden_share: float = 0.1,
    min_rounds: int = 2,
    max_passes: int = 2,
    max_rate: float = 0.5,
    max_tickets: int = 10_000,
    seed: int = 0,
) -> NoveltyRateChoice:
    """Leave-classes-out rounds on features ``X`` (what the classifier reads), representation ``Z`` (where
    novelty is measured) and labels ``y``; returns the lowest false-alarm rate (on a grid up to ``max_rate``)
    at which ``target`` of the hidden classes' tickets are deferred, pooled over the rounds.

    Each round hides ``hidden_share`` of the classes (at least one, leaving at least three known), fits
    ``make_classifier()`` on 60% of the known tickets, calibrates the temperature, the head threshold
    (``precision_target``) and the novelty check on 20%, and scores the other 20% (ordinary) and the hidden
    tickets. Rounds continue while ``seconds`` last (at least ``min_rounds``, at most ``max_passes`` passes
    over the classes). With fewer than four classes nothing can be simulated and ``fallback`` is returned.
    """
    if not RATES[0] <= max_rate < 1.0:
        raise ValueError(f"max_rate must be between {RATES[0]} and 1, got {max_rate}")
    started = time.perf_counter()
    y = np.asarray(y).astype(str)
    classes = np.unique(y)
    if len(classes) < 4:
        return NoveltyRateChoice(
            false_alarm_rate=fallback,
            target=target,
            reached=False,
            reason=f"{len(classes)} classes: too few to hide some and learn the rest; the default rate is kept",
        )
    per_round = max(1, min(len(classes) - 3, round(hidden_share * len(classes))))
    max_rounds = max(min_rounds, max_passes * (len(classes) // per_round))
    results: list[dict[str, np.ndarray]] = []
    hidden_seen: set[str] = set()
    for r, hidden in enumerate(_hidden_sets(classes, per_round, max_rounds, seed)):
        elapsed = time.perf_counter() - started
        if r >= min_rounds and elapsed * (r + 1) / r > seconds:  # the next round would overrun the budget
            break
        results.append(
            _round(
                X,
                Z,
                y,
                hidden,
                make_classifier,
                precision_target=precision_target,
                max_tickets=max_tickets,
                seed=seed + r,
            )
        )
        hidden_seen.update(hidden.tolist())
    novel = np.concatenate([r["novel"] for r in results])
    novel_unsure = np.concatenate([r["novel_unsure"] for r in results])
    ordinary = np.concatenate([r["ordinary"] for r in results])
    ordinary_unsure = np.concatenate([r["ordinary_unsure"] for r in results])

    def deferred(scores: np.ndarray, unsure: np.ndarray, rate: float) -> float:
        return float(np.mean((scores > 1.0 - rate) | unsure))

    allowed = RATES[: np.searchsorted(RATES, max_rate, side="right")]
    reached = [rate for rate in allowed if deferred(novel, novel_unsure, rate) >= target]
    rate = float(reached[0]) if reached else float(allowed[-1])
    per_round_deferred = [deferred(r["novel"], r["novel_unsure"], rate) for r in results]
    labels = np.r_[np.ones(len(novel)), np.zeros(len(ordinary))]
    choice = NoveltyRateChoice(
        false_alarm_rate=rate,
        target=target,
        reached=bool(reached),
        new_kinds_deferred=deferred(novel, novel_unsure, rate),
        new_kinds_flagged=float(np.mean(novel > 1.0 - rate)),
        ordinary_flagged=float(np.mean(ordinary > 1.0 - rate)),
        ordinary_deferred=deferred(ordinary, ordinary_unsure, rate),
        spread=(min(per_round_deferred), max(per_round_deferred)),
        auroc=float(roc_auc_score(labels, np.r_[novel, ordinary])),
        rounds=len(results),
        hidden_per_round=per_round,
        classes_hidden=len(hidden_seen),
        new_kind_tickets=len(novel),
        ordinary_tickets=len(ordinary),
        seconds=round(time.perf_counter() - started, 1),
    )
    choice.reason = describe(choice)
    return choice


def describe(choice: NoveltyRateChoice) -> str:
    """One sentence for people: the rate, and what it is expected to catch and cost."""
    if choice.rounds == 0:
        return choice.reason
    low, high = choice.spread or (math.nan, math.nan)
    verdict = "reaches" if choice.reached else f"does not reach (the largest rate allowed, {choice.false_alarm_rate})"
    return (
        f"false-alarm rate {choice.false_alarm_rate:.3f} {verdict} the target of {choice.target:.0%} of new kinds "
        f"deferred: {choice.rounds} rounds hiding {choice.hidden_per_round} of the classes at a time "
        f"({choice.classes_hidden} classes hidden in all) estimate {choice.new_kinds_deferred:.1%} of new-kind "
        f"tickets deferred (rounds {low:.0%}-{high:.0%}), {choice.ordinary_flagged:.1%} of ordinary tickets "
        f"flagged unfamiliar and {choice.ordinary_deferred:.1%} deferred in all; AUROC {choice.auroc:.3f}"
    )
