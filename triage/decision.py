"""Routing decisions: what the model suggests for a ticket and whether it may be routed without a person.

A :class:`Decision` is plain data (pydantic), so the API returns it as is and a review queue can store it.
:class:`Triager` turns a loaded bundle into decisions, computing features once for all heads.

>>> from triage.models import load_bundle
>>> triager = Triager(load_bundle("models/default"))  # doctest: +SKIP
>>> triager.decide(["VPN drops every hour"])[0].outcome  # doctest: +SKIP
'auto_route'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from triage.models.bundle import Bundle, HeadInfo
from triage.settings import Settings

N_ALTERNATIVES = 3


class Outcome(StrEnum):
    AUTO_ROUTE = "auto_route"
    NEEDS_REVIEW = "needs_review"


class Reason(BaseModel):
    """Why a ticket needs review: a stable ``code`` for machines and a ``message`` for people."""

    code: str = Field(examples=["low_confidence"])
    head: str | None = Field(None, examples=["priority"])
    message: str = Field(examples=["priority confidence 0.41 is below the threshold 0.60"])


class Alternative(BaseModel):
    label: str
    confidence: float


class HeadSuggestion(BaseModel):
    """The suggestion of one head: best label, its calibrated confidence, the next alternatives."""

    label: str = Field(examples=["vpn"])
    confidence: float = Field(ge=0.0, le=1.0, examples=[0.93])
    threshold: float = Field(ge=0.0, le=1.0, description="confidence needed to auto-route this head")
    confident: bool
    alternatives: list[Alternative] = Field(default_factory=list)
    prediction_set: list[str] = Field(
        default_factory=list,
        description="labels a reviewer should consider: they hold the true one for the configured share of "
        "tickets (conformal); one label is the easy case, many say 'ambiguous'",
    )


class Decision(BaseModel):
    """The routing decision for one ticket."""

    outcome: Outcome
    reasons: list[Reason] = Field(default_factory=list)
    heads: dict[str, HeadSuggestion]
    model_version: str


@dataclass
class Assessment:
    """Per head, the probabilities (columns as the model's ``classes(head)``) and whether each ticket's head
    is confident enough to auto-route; ``auto_route`` is true where every head is."""

    probabilities: dict[str, np.ndarray]
    confident: dict[str, np.ndarray]
    prediction_sets: dict[str, np.ndarray]
    novelty: np.ndarray | None = None
    novelty_threshold: float | None = None
    urgent_mass: np.ndarray | None = None
    priority_risk: np.ndarray | None = None
    tier_cost: np.ndarray | None = None
    tier_risk: np.ndarray | None = None

    @property
    def unfamiliar(self) -> np.ndarray:
        """Tickets unlike every training ticket (never auto-routed, however confident the heads are)."""
        if self.novelty is None or self.novelty_threshold is None:
            return np.zeros(len(next(iter(self.probabilities.values()))), dtype=bool)
        return self.novelty > self.novelty_threshold

    @property
    def auto_route(self) -> np.ndarray:
        vetoes = [~self.unfamiliar] + [~risk for risk in (self.priority_risk, self.tier_risk) if risk is not None]
        return np.logical_and.reduce([*self.confident.values(), *vetoes])


_PRIORITY_WORDS = {
    "critical": 0,
    "urgent": 0,
    "blocker": 0,
    "highest": 0,
    "high": 1,
    "major": 1,
    "medium": 2,
    "normal": 2,
    "moderate": 2,
    "low": 3,
    "minor": 3,
    "lowest": 4,
    "trivial": 4,
}


def _ordered(labels: Sequence[str], configured: Sequence[str] | None) -> list[str]:
    """Labels in the configured order, the others after them in natural order ("P1" < "P2", "L1" < "L2")."""
    ordered = [label for label in (configured or []) if label in labels]
    return ordered + sorted((label for label in labels if label not in ordered), key=priority_rank)


def priority_rank(label: str) -> tuple[int, list[tuple[int, int, str]]]:
    """Sort key putting the most urgent priority first: "P1" < "P2", "1 - Critical" < "2 - High",
    "critical" < "high" < "medium" < "low"."""
    words = [_PRIORITY_WORDS[w] for w in re.findall(r"[a-z]+", label.lower()) if w in _PRIORITY_WORDS]
    chunks = re.split(r"(\d+)", label.lower())
    parts = [(0, int(c), "") if c.isdigit() else (1, 0, c) for c in chunks if c]  # numbers before words
    return (words[0] if words else 99, parts)


class Triager:
    """Decisions from a bundle: a head is confident when its top probability reaches the threshold of the
    predicted label (``thresholds`` per head from settings, else the bundle's per-class thresholds, else its
    head threshold, else ``default_threshold``); a ticket is auto-routed only when every head is confident,
    the ticket is not unfamiliar, and no rule objects.

    Rules (each a reason code): ``priority_risk``, a priority below the ``priority_top_levels`` most urgent
    ones is not auto-assigned while their summed probability is at least ``priority_guard`` (under-estimating
    priority is the costly mistake); ``tier_risk``, the most likely tier is not auto-assigned when another
    tier has a lower expected cost, routing ``k`` lines too low costing ``k * tier_under_cost`` (the ticket
    bounces back) and ``k`` lines too high ``k * tier_over_cost`` (experts' time)."""

    def __init__(
        self,
        bundle: Bundle,
        *,
        thresholds: Mapping[str, float] | None = None,
        default_threshold: float = 0.5,
        set_coverage: float = 0.9,
        priority_guard: float | None = 0.3,
        priority_order: Sequence[str] | None = None,
        priority_top_levels: int = 1,
        tier_order: Sequence[str] | None = None,
        tier_under_cost: float | None = 2.0,
        tier_over_cost: float = 1.0,
    ) -> None:
        self.bundle = bundle
        self.default_threshold = default_threshold
        self.set_coverage = set_coverage
        self.priority_guard = priority_guard
        self.urgent: list[str] = []
        heads = bundle.manifest.heads
        if "priority" in heads:
            self.urgent = _ordered(heads["priority"].labels, priority_order)[:priority_top_levels]
        self._urgent_mask: np.ndarray | None = None
        self.tier_under_cost, self.tier_over_cost = tier_under_cost, tier_over_cost
        self.tier_costs: np.ndarray | None = None  # [true tier, routed tier], columns in the head's label order
        if "tier" in heads and tier_under_cost is not None:
            labels = heads["tier"].labels
            line = np.array([_ordered(labels, tier_order).index(t) for t in labels])
            gap = line[None, :] - line[:, None]  # routed line minus needed line
            self.tier_costs = np.where(gap < 0, -gap * tier_under_cost, gap * tier_over_cost).astype(float)
        self.thresholds = {
            head: self._threshold(info, (thresholds or {}).get(head), default_threshold)
            for head, info in bundle.manifest.heads.items()
        }
        self.class_thresholds = {
            head: self._class_thresholds(info, (thresholds or {}).get(head), self.thresholds[head])
            for head, info in bundle.manifest.heads.items()
        }

    @staticmethod
    def _threshold(info: HeadInfo, override: float | None, default: float) -> float:
        """The head's threshold: settings override the bundle; a bundle threshold chosen for a precision
        target that no threshold reached means "never auto-route" (infinity); bundles without one use
        ``default``."""
        if override is not None:
            return float(override)
        if info.threshold is not None:
            return float(info.threshold)
        return float("inf") if info.precision_target is not None else default

    @staticmethod
    def _class_thresholds(info: HeadInfo, override: float | None, head_threshold: float) -> np.ndarray:
        """One threshold per label (column order of the head's probabilities): the bundle's per-class
        thresholds (infinity for a class never auto-routed), unless a setting overrides the whole head."""
        if override is not None or not info.class_thresholds:
            return np.full(len(info.labels), head_threshold)
        return np.array(
            [t if (t := info.class_thresholds[label].threshold) is not None else float("inf") for label in info.labels]
        )

    def _urgent_columns(self) -> np.ndarray:
        """Which priority columns are the urgent levels (made once, not per call)."""
        if self._urgent_mask is None:
            self._urgent_mask = np.isin(self.bundle.model.classes("priority"), self.urgent)
        return self._urgent_mask

    def public_threshold(self, head: str) -> float | None:
        """The threshold as reported to people and machines: ``None`` when the head is never auto-routed."""
        threshold = self.thresholds[head]
        return None if threshold == float("inf") else threshold

    @classmethod
    def from_settings(cls, bundle: Bundle, settings: Settings) -> Triager:
        """The triager the service and the CLI use: thresholds and set coverage from ``TRIAGE_*`` settings."""
        return cls(bundle, **cls.options(settings))

    @staticmethod
    def options(settings: Settings) -> dict[str, Any]:
        """The keyword arguments of a triager from ``TRIAGE_*`` settings: plain values (Spark ships them)."""
        return {
            "thresholds": dict(settings.thresholds),
            "default_threshold": settings.default_threshold,
            "set_coverage": settings.prediction_set_coverage,
            "priority_guard": settings.priority_guard,
            "priority_order": list(settings.priority_order),
            "priority_top_levels": settings.priority_top_levels,
            "tier_order": list(settings.tier_order),
            "tier_under_cost": settings.tier_under_cost,
            "tier_over_cost": settings.tier_over_cost,
        }

    @property
    def version(self) -> str:
        return self.bundle.version

    def assess(self, texts: Sequence[str]) -> Assessment:
        """The vectorised decision for many tickets: probabilities and confident masks per head. Both
        :meth:`decide` (the API) and evaluation use it, so what is measured is what is served."""
        model = self.bundle.model
        probabilities, novelty = model.analyse(list(texts))
        confident = {
            head: p.max(axis=1) >= self.class_thresholds[head][p.argmax(axis=1)] for head, p in probabilities.items()
        }
        sets = {head: model.heads_[head].prediction_sets(p, self.set_coverage) for head, p in probabilities.items()}
        detector = getattr(model, "novelty_", None)
        assessment = Assessment(probabilities, confident, sets, novelty, detector.threshold_ if detector else None)
        if self.urgent and self.priority_guard is not None and "priority" in probabilities:
            proba = probabilities["priority"]
            urgent = self._urgent_columns()
            assessment.urgent_mass = proba[:, urgent].sum(axis=1)
            predicted_urgent = urgent[proba.argmax(axis=1)]
            assessment.priority_risk = ~predicted_urgent & (assessment.urgent_mass >= self.priority_guard)
        if self.tier_costs is not None and "tier" in probabilities:
            proba = probabilities["tier"]
            assessment.tier_cost = proba @ self.tier_costs  # expected cost of routing to each tier
            assessment.tier_risk = assessment.tier_cost.argmin(axis=1) != proba.argmax(axis=1)
        return assessment

    def decide(self, texts: Sequence[str]) -> list[Decision]:
        """One decision per (cleaned) ticket text, in order."""
        if not texts:
            return []
        model = self.bundle.model
        assessment = self.assess(texts)
        heads_per_ticket: list[dict[str, HeadSuggestion]] = [{} for _ in texts]
        for head, proba in assessment.probabilities.items():
            classes = model.classes(head)
            order = np.argsort(-proba, axis=1)[:, : N_ALTERNATIVES + 1]
            thresholds = self.class_thresholds[head]
            for i, ranked in enumerate(order):
                top = float(proba[i, ranked[0]])
                heads_per_ticket[i][head] = HeadSuggestion(
                    label=str(classes[ranked[0]]),
                    confidence=round(top, 4),
                    threshold=min(float(thresholds[ranked[0]]), 1.0),
                    confident=bool(assessment.confident[head][i]),
                    alternatives=[
                        Alternative(label=str(classes[j]), confidence=round(float(proba[i, j]), 4)) for j in ranked[1:]
                    ],
                    prediction_set=[str(c) for c in classes[assessment.prediction_sets[head][i]]],
                )
        return [self._decision(heads, self._rule_reasons(assessment, i)) for i, heads in enumerate(heads_per_ticket)]

    def _rule_reasons(self, assessment: Assessment, i: int) -> list[Reason]:
        """The reasons other than confidence that keep ticket ``i`` from being auto-routed."""
        reasons = []
        if assessment.unfamiliar[i]:
            reasons.append(self._unfamiliar_reason(assessment, i))
        if assessment.priority_risk is not None and assessment.urgent_mass is not None and assessment.priority_risk[i]:
            message = (
                f"probability of priority {'/'.join(self.urgent)} is {assessment.urgent_mass[i]:.2f} "
                f"(>= {self.priority_guard:.2f}): a lower priority is not assigned without review"
            )
            reasons.append(Reason(code="priority_risk", head="priority", message=message))
        if assessment.tier_risk is not None and assessment.tier_cost is not None and assessment.tier_risk[i]:
            cost = assessment.tier_cost[i]
            tiers = self.bundle.model.classes("tier")
            likely, cheapest = int(assessment.probabilities["tier"][i].argmax()), int(cost.argmin())
            message = (
                f"routing to the most likely tier {tiers[likely]} has expected cost {cost[likely]:.2f}, more than "
                f"{tiers[cheapest]} ({cost[cheapest]:.2f}); cost per line {self.tier_under_cost:g} below the needed "
                f"tier (bounces back), {self.tier_over_cost:g} above it (experts' time)"
            )
            reasons.append(Reason(code="tier_risk", head="tier", message=message))
        return reasons

    @staticmethod
    def _unfamiliar_reason(assessment: Assessment, i: int) -> Reason:
        score = float(assessment.novelty[i]) if assessment.novelty is not None else float("nan")
        message = (
            f"the ticket is unlike the training tickets (novelty {score:.2f} > {assessment.novelty_threshold:.2f})"
        )
        return Reason(code="unfamiliar", message=message)

    def _decision(self, heads: dict[str, HeadSuggestion], rule_reasons: list[Reason]) -> Decision:
        reasons = list(rule_reasons)
        reasons += [
            Reason(
                code="low_confidence",
                head=head,
                message=f"{head} confidence {s.confidence:.2f} in {s.label!r} is below its threshold {s.threshold:.2f}"
                if s.threshold < 1.0 or s.confidence >= 1.0
                else f"{head} {s.label!r} does not reach its precision target on held-out tickets: never auto-routed",
            )
            for head, s in heads.items()
            if not s.confident
        ]
        outcome = Outcome.NEEDS_REVIEW if reasons else Outcome.AUTO_ROUTE
        return Decision(outcome=outcome, reasons=reasons, heads=heads, model_version=self.version)


NO_TEXT = Reason(
    code="no_text",
    head=None,
    message="subject and body hold no text once HTML, quoted replies and signatures are removed",
)


def decide_tickets(triager: Triager, texts: Sequence[str]) -> list[Decision]:
    """The decisions the service gives (the API, the pyfunc model, ``triage predict``): a ticket whose text
    is empty once cleaned goes to review with the reason ``no_text``, whatever the model says of it."""
    decisions = triager.decide(texts)
    return [
        d if text else d.model_copy(update={"outcome": Outcome.NEEDS_REVIEW, "reasons": [NO_TEXT, *d.reasons]})
        for text, d in zip(texts, decisions, strict=True)
    ]
