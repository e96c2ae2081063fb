"""A bundle remembers how its export was read: evaluate and predict use that mapping by default, say so, and
warn when the labels do not fit; predict writes what the API answers, reasons and prediction sets included."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from triage.cli import app, commands  # noqa: F401  (registers the commands)

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
SERVICENOW = EXPORTS / "servicenow_incidents.csv"
runner = CliRunner()
FAST = ["--features", "tfidf", "--trees", "off", "--no-mlflow", "--precision-target", "0"]


@pytest.fixture(scope="module")
def servicenow_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained with a mapping file whose tier_map turns assignment groups into L1-L3."""
    out = tmp_path_factory.mktemp("sn") / "model"
    mapping = str(EXPORTS / "servicenow_mapping.json")
    result = runner.invoke(app, ["train", str(SERVICENOW), "--mapping", mapping, "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    return out


def test_evaluate_without_mapping_uses_the_bundles(servicenow_bundle: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["evaluate", "--model", str(servicenow_bundle), str(SERVICENOW), "--out", str(tmp_path), "--no-mlflow"]
    )
    assert result.exit_code == 0, result.output
    assert "columns as in training: mapping 'servicenow_mapping' from the bundle" in result.output
    metrics = pd.read_json(tmp_path / "metrics.json", typ="series")
    assert metrics["tier"]["accuracy"] > 0.5  # the tier_map of training applies: L1-L3, not group names
    assert "does not know" not in result.output


def test_a_mapping_that_does_not_fit_the_model_is_warned_about(servicenow_bundle: Path, tmp_path: Path) -> None:
    args = ["evaluate", "--model", str(servicenow_bundle), str(SERVICENOW), "--mapping", "servicenow"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path), "--no-mlflow"])
    assert result.exit_code == 0, result.output
    assert "head tier: 100% of the labelled tickets carry labels the model does not know" in result.output


def test_predict_writes_decisions_with_reasons_and_prediction_sets(servicenow_bundle: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(SERVICENOW)
    foreign = frame.head(3).assign(
        number=["X1", "X2", "X3"],
        short_description=["Quarterly zeppelin hangar lease", "Menu de la cantine", "lorem ipsum dolor"],
        description=["Wie geht es dir heute?", "Poulet rôti et frites", "sit amet consectetur adipiscing"],
    )
    export = tmp_path / "incidents.csv"
    pd.concat([frame, foreign]).to_csv(export, index=False)
    out = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["predict", "--model", str(servicenow_bundle), str(export), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, keep_default_na=False)
    assert {"id", "category", "category_threshold", "category_prediction_set", "reason_codes", "reasons"} <= set(rows)
    assert set(rows["decision"]) == {"auto_route", "needs_review"}  # both outcomes on this export
    routed, deferred = rows[rows["decision"] == "auto_route"], rows[rows["decision"] == "needs_review"]
    assert (routed["reasons"] == "").all() and (deferred["reason_codes"] != "").all()
    strangers = rows[rows["id"].astype(str).str.startswith("X")]
    assert (strangers["decision"] == "needs_review").all() and strangers["reason_codes"].str.contains(
        "unfamiliar"
    ).all()
    for head in ("category", "priority", "tier"):
        assert (routed[f"{head}_confidence"] >= routed[f"{head}_threshold"]).all()
        assert all(label in s.split("|") for label, s in zip(rows[head], rows[f"{head}_prediction_set"], strict=True))
    low = deferred[deferred["reason_codes"].str.contains("low_confidence:priority")]
    assert (low["priority_confidence"] < low["priority_threshold"]).all()


def test_compare_fails_on_a_head_only_one_bundle_has_unless_ignored(servicenow_bundle: Path, tmp_path: Path) -> None:
    no_tier = tmp_path / "no_tier"
    args = ["train", str(SERVICENOW), "--mapping", "servicenow", "--label", "category=subcategory"]
    frame = pd.read_csv(SERVICENOW)
    frame.drop(columns=["assignment_group"]).to_csv(tmp_path / "no_groups.csv", index=False)
    args[1] = str(tmp_path / "no_groups.csv")
    trained = runner.invoke(app, [*args, "--out", str(no_tier), *FAST])
    assert trained.exit_code == 0, trained.output
    compare = ["compare", "--model", str(no_tier), "--baseline", str(servicenow_bundle), str(SERVICENOW)]
    compare += ["--mapping", str(EXPORTS / "servicenow_mapping.json"), "--no-mlflow", "--min-precision", "0"]
    compare += ["--max-recall-drop", "1"]
    failed = runner.invoke(app, [*compare, "--out", str(tmp_path / "c1")])
    assert failed.exit_code == 1, failed.output
    assert "head tier is not compared: missing from the challenger" in failed.output
    passed = runner.invoke(app, [*compare, "--out", str(tmp_path / "c2"), "--ignore-missing-heads"])
    assert passed.exit_code == 0, passed.output
