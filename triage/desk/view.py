"""What the ticket page shows per head: the choices under one key each (the prediction set, then the next
alternatives, most likely first), the suggestion pre-selected, confidence in words and numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from triage.decision import Decision, HeadSuggestion
from triage.desk.words import confidence_word, explain, percent
from triage.store import TicketView

MAX_CHOICES = 9  # keys 1-9


@dataclass(frozen=True, slots=True)
class Choice:
    key: int
    label: str
    confidence: float | None  # None for a set member outside the model's top alternatives
    in_set: bool

    @property
    def shown(self) -> str:
        return percent(self.confidence) if self.confidence is not None else "in set"


@dataclass(frozen=True, slots=True)
class HeadView:
    name: str
    suggested: str
    confidence: float
    word: str
    confident: bool
    choices: list[Choice]
    labels: list[str]  # every label the agent may type

    @property
    def percent(self) -> str:
        return percent(self.confidence)


def head_view(name: str, suggestion: HeadSuggestion, labels: Sequence[str]) -> HeadView:
    known = {suggestion.label: suggestion.confidence} | {a.label: a.confidence for a in suggestion.alternatives}
    in_set = set(suggestion.prediction_set) | {suggestion.label}
    ordered = sorted(known, key=lambda label: (label not in in_set, -known[label]))
    ordered += [label for label in suggestion.prediction_set if label not in known]
    choices = [
        Choice(key=i + 1, label=label, confidence=known.get(label), in_set=label in in_set)
        for i, label in enumerate(ordered[:MAX_CHOICES])
    ]
    every = sorted(set(labels) | set(ordered))
    return HeadView(
        name=name,
        suggested=suggestion.label,
        confidence=suggestion.confidence,
        word=confidence_word(suggestion.confidence),
        confident=suggestion.confident,
        choices=choices,
        labels=every,
    )


def head_views(decision: Decision | None, labels: Mapping[str, Sequence[str]]) -> list[HeadView]:
    if decision is None:
        return []
    return [head_view(name, s, labels.get(name, ())) for name, s in decision.heads.items()]


def reasons_in_words(ticket: TicketView) -> list[str]:
    if ticket.decision is None:
        return []
    decision = ticket.decision.decision
    return [explain(reason, decision) for reason in decision.reasons]


def first_unsure(heads: Sequence[HeadView], decision: Decision | None) -> str | None:
    """The head the cursor starts on: the first one a reason names, else the first unsure one."""
    named = {r.head for r in decision.reasons if r.head} if decision is not None else set()
    for head in heads:
        if head.name in named or not head.confident:
            return head.name
    return heads[0].name if heads else None
