import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from training import TrainConfig, train
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
