from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triage.decision import Triager
from triage.evaluation import auto_route_summary, evaluate_triager, expected_calibration_error, risk_coverage
from triage.models import load_bundle


def test_risk_coverage_routes_the_most_confident_first() -> None:
    confidence = np.array([0.9, 0.8, 0.7, 0.6])
    correct = np.array([True, True, False, True])
    result = risk_coverage(confidence, correct, points=4)
    assert [p["risk"] for p in result["curve"]] == [0.0, 0.0, round(1 / 3, 4), 0.25]
    assert result["aurc"] == pytest.approx((0 + 0 + 1 / 3 + 1 / 4) / 4)
    assert risk_coverage(np.array([]), np.array([]))["aurc"] is None


def test_auto_route_summary_and_ece() -> None:
    summary = auto_route_summary(np.array([True, True, False, False]), np.array([True, False, False, True]))
    assert summary == {"coverage": 0.5, "precision": 0.5, "n_auto": 2, "n": 4}
    assert auto_route_summary(np.array([False]), np.array([True]))["precision"] is None
    assert expected_calibration_error(np.array([0.8] * 10), np.array([True] * 8 + [False] * 2)) == pytest.approx(0)


def test_unseen_labels_are_counted_and_their_deferral_measured(trained_bundle: Path) -> None:
    frame = pd.DataFrame(
        {
            "text": ["printer jam on floor 2", "VPN drops every hour", "the coffee machine is empty"],
            "category": ["printer", "vpn", "coffee"],
        }
    )
    triager = Triager(load_bundle(trained_bundle), thresholds={"category": 0.99})
    report = evaluate_triager(triager, frame)["category"]
    assert report["unknown_label"] == {"n": 1, "deferred": 1.0}
    assert report["auto_route"]["threshold"] == 0.99
