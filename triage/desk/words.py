"""The model's numbers in words an agent reads at a glance: confidence ("likely", "unsure") and why a ticket
was deferred ("priority: P2 is 37% likely, below its 50% threshold")."""

from __future__ import annotations

from triage.decision import Decision, HeadSuggestion, Reason, priority_rank

CONFIDENCE_WORDS = ((0.9, "almost sure"), (0.75, "likely"), (0.5, "probable"), (0.3, "unsure"), (0.0, "a guess"))

REASON_NAMES = {
    "low_confidence": "low confidence",
    "unfamiliar": "unfamiliar",
    "priority_risk": "priority risk",
    "tier_risk": "tier risk",
    "no_text": "no text",
}


def confidence_word(confidence: float) -> str:
    return next(word for floor, word in CONFIDENCE_WORDS if confidence >= floor)


def percent(value: float) -> str:
    """``0.372`` -> "37%"; a probability too small to round to 1% is "<1%", not "0%"."""
    return "<1%" if 0 < value < 0.005 else f"{value:.0%}"


def reason_name(code: str, head: str | None = None) -> str:
    """The short name of a reason, as the queue's tabs show it: "low confidence: priority"."""
    name = REASON_NAMES.get(code, code.replace("_", " "))
    return f"{name}: {head}" if head and not code.startswith(head) else name


def _most_urgent(suggestion: HeadSuggestion) -> tuple[str, float]:
    known = {suggestion.label: suggestion.confidence} | {a.label: a.confidence for a in suggestion.alternatives}
    label = min(known, key=priority_rank)
    return label, known[label]


def explain(reason: Reason, decision: Decision) -> str:
    """One reason of a deferral as a sentence; the stored message for a reason this desk does not know."""
    suggestion = decision.heads.get(reason.head or "")
    if reason.code == "low_confidence" and suggestion is not None:
        if suggestion.threshold >= 1.0 and suggestion.confidence < 1.0:
            return (
                f"{reason.head}: {suggestion.label} is {percent(suggestion.confidence)} likely; tickets of "
                f"{suggestion.label} are always reviewed (it never reached its precision target)"
            )
        return (
            f"{reason.head}: {suggestion.label} is {percent(suggestion.confidence)} likely, "
            f"below its {percent(suggestion.threshold)} threshold"
        )
    if reason.code == "unfamiliar":
        return "unlike anything the model has seen: a new kind of request, another language, or not a ticket"
    if reason.code == "priority_risk" and suggestion is not None:
        urgent, chance = _most_urgent(suggestion)
        return (
            f"priority: {suggestion.label} is most likely, but {urgent} is {percent(chance)} likely; "
            "a person decides before a ticket is rated less urgent"
        )
    if reason.code == "tier_risk" and suggestion is not None:
        return (
            f"tier: {suggestion.label} is most likely, but another line is the safer choice "
            "(a ticket sent too low bounces back)"
        )
    if reason.code == "no_text":
        return "nothing left to read once markup, quoted replies and signatures were removed"
    return reason.message
