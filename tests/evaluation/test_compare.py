from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from triage.cli import app, commands  # noqa: F401  (registers the commands)
from triage.evaluation.compare import mcnemar

runner = CliRunner()


def test_mcnemar_counts_discordant_tickets_and_tests_them_exactly() -> None:
    old = np.array([True] * 10 + [False] * 10)
    new = np.array([True] * 2 + [False] * 8 + [False] * 10)  # 8 worse, 0 better
    result = mcnemar(old, new)
    assert (result["better"], result["worse"]) == (0, 8)
    assert result["p_value"] == pytest.approx(2 * 0.5**8)  # exact two-sided binomial
    assert mcnemar(old, old)["p_value"] == 1.0


@pytest.fixture(scope="module")
def weak_bundle(training_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A challenger trained on 150 tickets: worse than the champion on most classes."""
    from training import TrainConfig, train

    folder = tmp_path_factory.mktemp("weak")
    part = folder / "few.csv"
    pd.read_csv(training_export).sample(150, random_state=1).to_csv(part, index=False)
    config = TrainConfig(feature_set="tfidf", mlflow=False, cache_dir=folder / "cache", min_class_count=3, holdout=0)
    train([part], folder / "model", config=config)
    return folder / "model"


def test_gate_passes_a_model_that_is_no_worse(trained_bundle: Path, small_export: Path, tmp_path: Path) -> None:
    args = ["compare", "--model", str(trained_bundle), "--baseline", str(trained_bundle), str(small_export)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path), "--no-mlflow", "--min-precision", "0"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["gate"]["passed"] and report["gate"]["failures"] == []
    assert report["heads"]["category"]["mcnemar"] == {"better": 0, "worse": 0, "p_value": 1.0}
    assert "Gate: **PASSED**" in (tmp_path / "compare.md").read_text()


def test_gate_fails_a_model_whose_class_recall_drops(
    trained_bundle: Path, weak_bundle: Path, small_export: Path, tmp_path: Path
) -> None:
    args = ["compare", "--model", str(weak_bundle), "--baseline", str(trained_bundle), str(small_export)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path), "--no-mlflow", "--max-recall-drop", "0.05"])
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "compare.json").read_text())
    assert not report["gate"]["passed"]
    category = report["heads"]["category"]
    assert category["accuracy_new"] < category["accuracy_old"] and category["mcnemar"]["p_value"] < 0.01
    failing = [c for c in category["classes"] if c["fails_gate"]]
    assert failing and all(c["recall_old"] - c["recall_new"] > 0.05 and c["support"] >= 20 for c in failing)
    assert any(f.startswith(f"category {failing[0]['label']}: recall") for f in report["gate"]["failures"])
    md = (tmp_path / "compare.md").read_text()
    assert "Gate: **FAILED**" in md and "| FAIL |" in md
    # asking for significance keeps only the drops McNemar's test cannot put down to chance
    strict = runner.invoke(app, [*args, "--out", str(tmp_path / "s"), "--no-mlflow", "--significance", "0.05"])
    strict_report = json.loads((tmp_path / "s" / "compare.json").read_text())
    significant = strict_report["heads"]["category"]["classes"]
    assert all(c["mcnemar_p_value"] < 0.05 for c in significant if c["fails_gate"])
    assert sum(c["fails_gate"] for c in significant) <= len(failing)
    assert strict.exit_code == (1 if strict_report["gate"]["failures"] else 0)
    # the same challenger passes a gate that tolerates any drop and any precision
    lenient = ["--max-recall-drop", "1", "--min-precision", "0"]
    assert runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--no-mlflow", *lenient]).exit_code == 0


def test_precision_gate_fails_only_on_a_precision_shown_below_the_minimum() -> None:
    from triage.evaluation.compare import precision_upper_bound

    assert precision_upper_bound({"n_auto": 5000, "precision": 0.9496}) > 0.95  # a hair under: chance
    assert precision_upper_bound({"n_auto": 5000, "precision": 0.94}) < 0.95  # clearly under
    assert precision_upper_bound({"n_auto": 20, "precision": 1.0}) == 1.0
    assert precision_upper_bound({"n_auto": 0, "precision": None}) is None
