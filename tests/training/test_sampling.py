from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training import TrainConfig, train
from training.sampling import recent_sample


def _frame(labels: list[str], dated: bool = True) -> pd.DataFrame:
    times = pd.date_range("2026-01-01", periods=len(labels), freq="h", tz="UTC")
    return pd.DataFrame({"created_at": times if dated else pd.NaT, "category": labels})


def test_a_frame_under_the_cap_is_used_whole() -> None:
    sample = recent_sample(_frame(["a", "b"] * 5), ["category"], max_tickets=10)
    assert sample.method == "all" and sample.rows.tolist() == list(range(10)) and sample.share == 1.0
    assert recent_sample(_frame(["a", "b"] * 5), ["category"], max_tickets=0).method == "all"  # 0: no cap


def test_the_most_recent_tickets_are_kept() -> None:
    frame = _frame(["a", "b"] * 50).iloc[::-1].reset_index(drop=True)  # newest first in the file
    sample = recent_sample(frame, ["category"], max_tickets=20, min_per_class=1)
    assert sample.method == "time" and sample.n_used == 20 and sample.share == pytest.approx(0.2)
    newest = frame["created_at"].nlargest(20).index
    assert sorted(sample.rows.tolist()) == sorted(newest.tolist())
    assert sample.oldest == f"{frame['created_at'].iloc[19]:%Y-%m-%d %H:%M}"
    assert "20 of 100 tickets (20.0%)" in sample.description


def test_every_class_keeps_its_minimum_even_when_all_its_tickets_are_old() -> None:
    labels = ["old"] * 10 + ["rare"] * 2 + ["new"] * 88  # "old" and "rare" only in the oldest tickets
    sample = recent_sample(_frame(labels), ["category"], max_tickets=30, min_per_class=5)
    kept = pd.Series(labels)[sample.rows]
    assert sample.n_used == 30  # the cap holds: the oldest of the recent ones made room
    assert kept.value_counts().to_dict() == {"new": 23, "old": 5, "rare": 2}
    assert sample.kept_for_classes == 7
    assert kept.index[kept == "old"].tolist() == [5, 6, 7, 8, 9]  # the most recent of the class
    assert "7 older to keep at least 5 of every class" in sample.description


def test_without_timestamps_a_seeded_random_sample_keeps_every_class() -> None:
    labels = ["a"] * 95 + ["b"] * 5
    first = recent_sample(_frame(labels, dated=False), ["category"], max_tickets=20, min_per_class=5, seed=1)
    again = recent_sample(_frame(labels, dated=False), ["category"], max_tickets=20, min_per_class=5, seed=1)
    assert first.method == "random" and first.rows.tolist() == again.rows.tolist()
    assert (np.asarray(labels)[first.rows] == "b").sum() == 5 and first.n_used == 20
    assert "random sample (no timestamps)" in first.description


def test_a_negative_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="max_tickets"):
        recent_sample(_frame(["a", "b"]), ["category"], max_tickets=-1)


def test_training_under_a_cap_reports_the_share_in_the_manifest(small_export: Path, tmp_path: Path) -> None:
    config = TrainConfig(
        feature_set="tfidf", trees="off", novelty_false_alarm_rate=0.1, max_tickets=400, min_per_class=10, mlflow=False
    )
    result = train([small_export], tmp_path / "model", config=config)
    manifest = result.bundle.manifest
    sample = manifest.training["sample"]
    available = sample["n_available"]
    assert available > 400 and sample["n_used"] == 400 and sample["method"] == "time"
    assert sample["share"] == pytest.approx(400 / available)
    assert f"400 of {available} tickets" in sample["description"]
    assert manifest.data["n_tickets"] == 400 and manifest.data["n_available"] == available
    # the split indexes the tickets used, and the shipped model was fitted on all of them
    assert len(result.tickets.frame) == 400 and len(result.split.train) + len(result.split.test) == 400
    assert manifest.training["final_model"]["n_tickets"] == 400
    every = train([small_export], tmp_path / "all", config=config.model_copy(update={"max_tickets": 0}))
    assert every.bundle.manifest.training["sample"]["method"] == "all"
    assert set(every.tickets.frame["category"].dropna()) == set(result.tickets.frame["category"].dropna())
