"""A head that only one of two bundles predicts is said, and fails the promotion gate unless accepted."""

from __future__ import annotations

from pathlib import Path

from triage.data import load_tickets
from triage.decision import Triager
from triage.evaluation import evaluate
from triage.evaluation.compare import Gate, compare, render_markdown
from triage.models import load_bundle
from triage.settings import get_settings


def test_a_head_missing_from_the_challenger_fails_the_gate_unless_ignored(
    trained_bundle: Path, small_export: Path
) -> None:
    triager = Triager.from_settings(load_bundle(trained_bundle), get_settings())
    frame = load_tickets([small_export], dedupe=False).frame
    champion = evaluate(triager, frame)
    challenger = evaluate(triager, frame)
    challenger.predictions = challenger.predictions.drop(columns=[c for c in challenger.predictions if "tier" in c])

    result = compare(challenger, champion, frame, Gate(min_precision=0.0))
    assert set(result["heads"]) == {"category", "priority"}
    assert result["missing_heads"] == {"tier": "head tier is not compared: missing from the challenger"}
    assert not result["gate"]["passed"]
    assert result["gate"]["failures"] == [
        "head tier is not compared: missing from the challenger (--ignore-missing-heads to accept)"
    ]

    accepted = compare(challenger, champion, frame, Gate(min_precision=0.0, ignore_missing_heads=True))
    assert accepted["gate"]["passed"] and accepted["missing_heads"]
    assert "head tier is not compared" in render_markdown(accepted, "new", "old")

    same = compare(champion, champion, frame, Gate(min_precision=0.0))
    assert same["missing_heads"] == {} and same["gate"]["passed"]
