"""The model's numbers in words: confidence, reasons, and the choices a head offers under keys 1-9."""

from __future__ import annotations

from triage.decision import Alternative, Decision, HeadSuggestion, Outcome, Reason
from triage.desk.view import head_view
from triage.desk.words import confidence_word, explain, percent, reason_name


def _suggestion(
    label: str, confidence: float, threshold: float, others: dict[str, float], in_set: list[str]
) -> HeadSuggestion:
    return HeadSuggestion(
        label=label,
        confidence=confidence,
        threshold=threshold,
        confident=confidence >= threshold,
        alternatives=[Alternative(label=k, confidence=v) for k, v in others.items()],
        prediction_set=in_set,
    )


PRIORITY = _suggestion("P2", 0.37, 0.5, {"P1": 0.33, "P3": 0.2, "P4": 0.1}, ["P2", "P1", "P3"])
DECISION = Decision(outcome=Outcome.NEEDS_REVIEW, heads={"priority": PRIORITY}, model_version="m")


def test_confidence_words_and_percent() -> None:
    assert [confidence_word(c) for c in (0.95, 0.8, 0.6, 0.37, 0.1)] == [
        "almost sure", "likely", "probable", "unsure", "a guess",
    ]  # fmt: skip
    assert (percent(0.372), percent(0.001), percent(0.0)) == ("37%", "<1%", "0%")
    assert reason_name("low_confidence", "priority") == "low confidence: priority"
    assert reason_name("priority_risk", "priority") == "priority risk"


def test_reasons_in_words() -> None:
    low = Reason(code="low_confidence", head="priority", message="x")
    assert explain(low, DECISION) == "priority: P2 is 37% likely, below its 50% threshold"
    assert explain(Reason(code="unfamiliar", message="x"), DECISION).startswith("unlike anything the model has seen")
    risk = explain(Reason(code="priority_risk", head="priority", message="x"), DECISION)
    assert risk.startswith("priority: P2 is most likely, but P1 is 33% likely")
    never = DECISION.model_copy(update={"heads": {"priority": PRIORITY.model_copy(update={"threshold": 1.0})}})
    assert "always reviewed" in explain(low, never)
    assert explain(Reason(code="new_rule", message="a rule we do not know"), DECISION) == "a rule we do not know"


def test_choices_put_the_prediction_set_first_under_keys() -> None:
    view = head_view("priority", PRIORITY, ["P1", "P2", "P3", "P4", "P5"])
    assert [(c.key, c.label, c.in_set) for c in view.choices] == [
        (1, "P2", True), (2, "P1", True), (3, "P3", True), (4, "P4", False),
    ]  # fmt: skip
    assert view.word == "unsure" and view.labels == ["P1", "P2", "P3", "P4", "P5"]
    wide = _suggestion("a", 0.2, 0.5, {"b": 0.1}, [chr(ord("a") + i) for i in range(12)])
    assert [c.key for c in head_view("category", wide, []).choices] == list(range(1, 10))
