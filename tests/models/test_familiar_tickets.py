"""The test bundle on tickets of its own desk and on tickets from elsewhere: the novelty check flags about
its configured share of ordinary tickets, and every ticket unlike the training ones."""

from pathlib import Path

import pandas as pd
import pytest

from triage.decision import Outcome, Triager
from triage.models import load_bundle

FOREIGN = [
    "Bonjour, je voudrais réserver la grande salle de réunion pour jeudi après-midi, merci beaucoup",
    "CONGRATULATIONS!!! You have won a free cruise, click here to claim your prize before midnight",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt",
    "The cafeteria menu for next week: lasagne on Monday, grilled fish on Friday, soup every day",
]


@pytest.fixture(scope="module")
def triager(trained_bundle: Path) -> Triager:
    return Triager(load_bundle(trained_bundle))


def test_ordinary_tickets_are_mostly_familiar(triager: Triager, ordinary_tickets: pd.DataFrame) -> None:
    detector = triager.bundle.model.novelty_
    assert detector is not None and detector.false_alarm_rate == 0.2  # the fixture's rate
    unfamiliar = triager.assess(ordinary_tickets["text"].tolist()).unfamiliar
    # about the configured false-alarm rate on tickets of the desk the bundle learnt from (12% here): neither
    # every ticket flagged (the bug where no test ever saw an auto-routed ticket) nor none
    assert 0.02 <= unfamiliar.mean() <= detector.false_alarm_rate + 0.15


def test_tickets_from_elsewhere_are_unfamiliar_and_deferred_whatever_the_heads_say(triager: Triager) -> None:
    assessment = triager.assess(FOREIGN)
    assert assessment.unfamiliar.all()
    assert assessment.novelty is not None and (assessment.novelty > 0.95).all()  # stranger than 95% of ordinary ones
    open_gate = Triager(triager.bundle, thresholds=dict.fromkeys(triager.thresholds, 0.0))
    for decision in open_gate.decide(FOREIGN):
        assert all(s.confident for s in decision.heads.values())  # every head would route them...
        assert decision.outcome == Outcome.NEEDS_REVIEW  # ...but the ticket is like none it learnt from
        assert "unfamiliar" in {r.code for r in decision.reasons}
