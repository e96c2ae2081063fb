import json
from pathlib import Path
from unittest.mock import ANY

import mlflow
import pandas as pd
import pytest

from training import TrainConfig, train
from training.selection import MAX_LOGISTIC_CLASSES, choose_head
from training.splits import holdout_split


def test_time_split_trains_on_the_past() -> None:
    frame = pd.DataFrame(
        {
            "created_at": pd.to_datetime([f"2026-01-{d:02d}" for d in range(1, 11)], utc=True),
            "category": ["a", "b"] * 5,
        }
    )
    split = holdout_split(frame, ["category"], test_size=0.2)
    assert split.method == "time" and split.test.tolist() == [8, 9]
    assert "most recent" in split.description


def test_stratified_split_without_timestamps() -> None:
    frame = pd.DataFrame({"created_at": [pd.NaT] * 20, "category": ["a"] * 10 + ["b"] * 10})
    split = holdout_split(frame, ["category"], test_size=0.2, seed=0)
    assert split.method == "stratified"
    assert frame.iloc[split.test]["category"].value_counts().to_dict() == {"a": 2, "b": 2}


def test_training_run_is_tracked_in_mlflow_with_metrics_quality_and_bundle(
    small_export: Path, tmp_path: Path, tiny_encoder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.pipeline as pipeline

    monkeypatch.setattr(pipeline, "cached_encoder", lambda *a, **k: tiny_encoder)
    result = train([small_export], tmp_path / "model", config=TrainConfig(feature_set="auto"))
    assert result.selection is not None and result.selection.chosen in ("tfidf", "tfidf+embedding")
    chosen = result.selection.chosen
    assert set(result.selection.scores) == {"tfidf", "tfidf+embedding", f"{chosen}+trees"}
    run = mlflow.get_run(result.run_id)
    assert run.data.params["split"] == "time"
    assert 0 < run.data.metrics["category.accuracy"] <= 1
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id)}
    assert {"data_quality.json", "holdout_metrics.json", "thresholds.json", "mapping.json", "bundle"} <= artifacts
    assert run.info.run_name.startswith(f"train {small_export.name} 20")  # named after the data and the time
    never = run.data.metrics["never_routed_classes.category"]
    manifest_heads = json.loads((tmp_path / "model" / "manifest.json").read_text())["heads"]
    assert never == sum(c["threshold"] is None for c in manifest_heads["category"]["class_thresholds"].values())
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["training"]["mlflow_run_id"] == result.run_id
    assert manifest["training"]["feature_selection"]["chosen"] == manifest["model_params"]["feature_set"]
    assert manifest["training"]["feature_selection"]["trees"] == manifest["model_params"]["trees"]
    assert run.data.params["trees"] == str(result.selection.trees)
    assert manifest["mapping"]["name"] == "generic" and manifest["mapping"]["labels"]["tier"] == ["tier"]


@pytest.mark.parametrize("refit", [True, False])
def test_the_shipped_model_is_refitted_on_every_ticket_after_the_hold_out_is_measured(
    small_export: Path, tmp_path: Path, refit: bool
) -> None:
    config = TrainConfig(feature_set="tfidf", trees="off", refit=refit, novelty_seconds=2, mlflow=False)
    result = train([small_export], tmp_path / "model", config=config)
    manifest = result.bundle.manifest
    n_all, n_train = len(result.tickets.frame), len(result.split.train)
    assert len(result.split.test) > 0 and n_train < n_all
    labelled = result.tickets.frame["category"].notna()
    # the hold-out estimate is kept, and says which model it measured
    assert manifest.metrics["n_tickets"] == len(result.split.test) and 0 < manifest.metrics["category"]["accuracy"] <= 1
    final = manifest.training["final_model"]
    assert final["refit"] is refit
    assert manifest.training["head"]["loss"] == "svm" and result.bundle.model.C == 0.5  # hundreds per class
    if refit:
        assert manifest.heads["category"].n_train == int(labelled.sum())
        assert final["n_tickets"] == n_all and f"all {n_all} tickets" in final["description"]
    else:
        assert manifest.heads["category"].n_train == int(labelled.iloc[result.split.train].sum())
        assert final["n_tickets"] == n_train
    # the novelty rate was chosen on the shipped model's tickets and is what the detector applies
    choice = manifest.training["novelty_rate"]
    assert manifest.novelty is not None and manifest.novelty.false_alarm_rate == choice["false_alarm_rate"]
    assert choice["rounds"] >= 2 and choice["target"] == 0.9
    assert result.bundle.model.novelty_.threshold_ == pytest.approx(1 - choice["false_alarm_rate"])


def test_a_fixed_false_alarm_rate_skips_the_simulation(small_export: Path, tmp_path: Path) -> None:
    config = TrainConfig(feature_set="tfidf", trees="off", novelty_false_alarm_rate=0.05, mlflow=False)
    manifest = train([small_export], tmp_path / "model", config=config).bundle.manifest
    assert manifest.novelty is not None and manifest.novelty.false_alarm_rate == 0.05
    assert manifest.training["novelty_rate"] is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        TrainConfig(novelty_false_alarm_rate=1.5)


def test_too_few_tickets_to_hold_some_out_trains_on_every_ticket_without_an_estimate(tmp_path: Path) -> None:
    words = {"vpn": "vpn tunnel drops", "printer": "printer paper jam", "laptop": "laptop screen broken"}
    rows = [{"text": f"{text} case {k}", "category": label} for label, text in words.items() for k in range(5)]
    export = tmp_path / "few.csv"
    pd.DataFrame(rows).to_csv(export, index=False)
    result = train([export], tmp_path / "model", config=TrainConfig(feature_set="tfidf", trees="off", mlflow=False))
    manifest = result.bundle.manifest
    assert result.metrics == {} and manifest.heads["category"].n_train == 15  # 4 per class would be too few
    assert "no hold-out estimate" in result.split.description
    assert manifest.training["final_model"]["description"].startswith("no hold-out estimate")
    assert manifest.training["novelty_rate"]["reason"].startswith("3 classes: too few")
    assert manifest.training["head"] == {"loss": "logistic", "C": 100.0, "reason": ANY}  # 5 tickets per class
    assert result.bundle.model.loss == "logistic" and result.bundle.model.C == 100.0


@pytest.mark.parametrize(
    ("loss", "C", "per_class", "expected"),
    [
        ("auto", None, 10, ("logistic", 100.0)),  # small classes: a logistic regression, C 100
        ("auto", None, 15, ("svm", 0.5)),  # enough tickets: the linear SVM
        ("auto", 2.0, 10, ("logistic", 2.0)),  # a given C is kept
        ("svm", None, 10, ("svm", 0.5)),  # a given loss too, with its own default C
        ("logistic", None, 200, ("logistic", 100.0)),
    ],
)
def test_the_head_is_a_logistic_regression_for_small_classes(
    loss: str, C: float | None, per_class: int, expected: tuple[str, float]
) -> None:
    labels = pd.Series(["a"] * per_class + ["b"] * per_class + ["c"] * (per_class + 40) + [None] * 50)
    choice = choose_head(loss, C, labels)
    assert (choice.loss, choice.C) == expected
    assert ("auto" in choice.reason) == (loss == "auto")


def test_auto_keeps_the_svm_for_many_small_classes() -> None:
    """A logistic regression over hundreds of classes runs out of memory: auto keeps the SVM there."""
    many = pd.Series([f"class {i}" for i in range(MAX_LOGISTIC_CLASSES + 1) for _ in range(10)])
    choice = choose_head("auto", None, many)
    assert (choice.loss, choice.C) == ("svm", 0.5)
    assert f"{MAX_LOGISTIC_CLASSES + 1} classes, over {MAX_LOGISTIC_CLASSES}" in choice.reason
    assert choose_head("auto", None, many[: MAX_LOGISTIC_CLASSES * 10]).loss == "logistic"  # one class fewer
    assert choose_head("logistic", None, many).loss == "logistic"  # asked for: as asked


def test_an_unknown_head_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, svm or logistic"):
        choose_head("forest", None, pd.Series(["a", "b"]))
