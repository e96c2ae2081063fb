"""Training on Spark (``triage train --engine spark``): Spark reads, cleans, deduplicates and counts the whole
export and collects only the sample a capped training uses, the same tickets a local run would choose."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from training.sampling import recent_sample
from training.spark_sample import spark_training_tickets
from triage.cli import app, commands  # noqa: F401  (registers the commands)
from triage.data import load_tickets
from triage.errors import DataError

HEADS = ["category", "priority", "tier"]


@pytest.fixture(scope="module")
def history(small_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 900 tickets as a history with what real ones hold: a category only among the oldest tickets,
    equal timestamps, a few undated, repeated ids, repeated text with the same labels, no text, no label."""
    frame = pd.read_csv(small_export, dtype=str, keep_default_na=False)
    frame = frame.sort_values("created_at", kind="stable").reset_index(drop=True)
    frame.loc[:24, "category"] = "legacy_mainframe"  # only the 25 oldest
    frame.loc[400:409, "created_at"] = frame.loc[400, "created_at"]  # ten tickets at the same minute
    frame.loc[frame.index % 37 == 5, "created_at"] = ""  # 25 undated (under a tenth: still "dated")
    repeated_id = frame.iloc[[100, 500, 800]].assign(subject="another text", body="under an id already used")
    repeated_text = frame.iloc[[200, 600]].assign(id=["NEW-1", "NEW-2"])
    no_text = frame.iloc[[300]].assign(id="EMPTY-1", subject="", body="")
    no_label = frame.iloc[[301]].assign(id="NOLABEL-1", category="", priority="", tier="")
    rows = pd.concat([frame, repeated_id, repeated_text, no_text, no_label], ignore_index=True)
    path = tmp_path_factory.mktemp("history") / "history.csv"
    rows.to_csv(path, index=False)
    return path


def test_spark_chooses_the_tickets_a_local_training_chooses(spark: SparkSession, history: Path) -> None:
    local = load_tickets([history], min_class_count=5)
    sample = recent_sample(local.frame, local.heads, max_tickets=300, min_per_class=10)
    chosen = local.frame.iloc[sample.rows]
    assert sample.method == "time" and sample.kept_for_classes > 0  # the old class needed older tickets

    tickets, on_spark = spark_training_tickets(
        spark, [str(history)], max_tickets=300, min_per_class=10, min_class_count=5
    )
    assert (on_spark.n_used, on_spark.n_available) == (sample.n_used, sample.n_available)
    assert sample.n_used == 300 and sample.n_available == local.quality.rows_kept
    assert (on_spark.method, on_spark.kept_for_classes, on_spark.oldest) == (
        sample.method,
        sample.kept_for_classes,
        sample.oldest,
    )
    assert on_spark.engine == "spark" and sample.engine == "local"
    frame = tickets.frame
    assert frame["id"].tolist() == chosen["id"].tolist()  # the same tickets, in the file's order
    for column in ["text", *HEADS]:
        assert frame[column].fillna("").tolist() == chosen[column].fillna("").tolist(), column
    assert (frame["subject"] == "").all() and (frame["body"] == "").all()  # not collected: the text holds both
    assert frame["created_at"].equals(chosen["created_at"].reset_index(drop=True))
    assert set(frame["category"].dropna()) == set(local.frame["category"].dropna())  # every class, however old
    assert (frame["category"] == "legacy_mainframe").sum() > 0
    assert tickets.heads == local.heads == HEADS

    spark_report, local_report = tickets.quality, local.quality
    assert spark_report.rows_read == local_report.rows_read == 907
    assert spark_report.rows_kept == local_report.rows_kept
    assert spark_report.dropped == local_report.dropped
    assert local_report.dropped["empty_text"] == local_report.dropped["missing_label"] == 1
    assert local_report.dropped["duplicate_id"] == 3 and local_report.dropped["duplicate"] >= 2
    for head in HEADS:  # the counts of the whole history, not of the sample
        assert spark_report.heads[head].label_counts == local_report.heads[head].label_counts, head
        assert spark_report.heads[head].rare_classes == local_report.heads[head].rare_classes, head
    assert spark_report.columns == local_report.columns


def test_undated_history_is_sampled_by_a_seeded_draw_keeping_every_class(
    spark: SparkSession, history: Path, tmp_path: Path
) -> None:
    undated = tmp_path / "undated.csv"
    pd.read_csv(history, dtype=str, keep_default_na=False).drop(columns=["created_at"]).to_csv(undated, index=False)
    first, sample = spark_training_tickets(spark, [str(undated)], max_tickets=200, min_per_class=8)
    again, _ = spark_training_tickets(spark, [str(undated)], max_tickets=200, min_per_class=8)
    assert sample.method == "random" and sample.oldest is None and sample.n_used == 200
    assert first.frame["id"].tolist() == again.frame["id"].tolist()  # the same draw on every run
    for head in HEADS:  # every class keeps its share of the cap (8, or less when the cap cannot hold it)
        counts = first.quality.heads[head].label_counts
        per_class = max(1, min(8, 200 // (len(counts) * len(HEADS))))
        kept = first.frame[head].value_counts()
        assert all(kept.get(label, 0) >= min(n, per_class) for label, n in counts.items()), head
    assert first.frame["created_at"].isna().all()


def test_an_export_without_labels_is_refused_naming_the_problem(
    spark: SparkSession, history: Path, tmp_path: Path
) -> None:
    unlabelled = tmp_path / "unlabelled.csv"
    frame = pd.read_csv(history, dtype=str, keep_default_na=False)
    frame.drop(columns=["category", "priority", "tier", "assignment_group"]).to_csv(unlabelled, index=False)
    with pytest.raises(DataError, match="label"):
        spark_training_tickets(spark, [str(unlabelled)], max_tickets=100)


def test_train_engine_spark_trains_on_the_sample_and_says_so(
    spark: SparkSession, history: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(history),
            "--out",
            str(out),
            "--engine",
            "spark",
            "--max-tickets",
            "400",
            "--min-per-class",
            "10",
            "--features",
            "tfidf",
            "--trees",
            "off",
            "--novelty-false-alarm",
            "0.2",
            "--no-mlflow",
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    manifest = json.loads((out / "manifest.json").read_text())
    sample = manifest["training"]["sample"]
    assert (sample["engine"], sample["n_used"], sample["method"]) == ("spark", 400, "time")
    assert "legacy_mainframe" in manifest["heads"]["category"]["labels"]  # the old class was kept and learnt
    assert manifest["data"]["n_available"] == sample["n_available"] > 400 and manifest["data"]["n_tickets"] == 400
    assert np.isclose(sample["share"], 400 / sample["n_available"], atol=1e-6)
    assert f"training on 400 of {sample['n_available']:,} tickets" in result.output  # the share on screen


def test_train_engine_spark_refuses_tickets_from_the_store(history: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", str(history), "--out", str(tmp_path / "b"), "--engine", "spark", "--from-store"]
    )
    assert result.exit_code == 2 and "--from-store needs --engine local" in result.output


class _Conf:
    def __init__(self, **given: str) -> None:
        self.given = given

    def contains(self, key: str) -> bool:
        return key in self.given


def test_a_local_spark_gets_a_heap_for_a_large_history_unless_one_is_chosen() -> None:
    from triage.batch.spark import local_driver_memory

    chosen = local_driver_memory(_Conf(), {})
    assert chosen is not None and chosen.endswith("g") and 1 <= int(chosen[:-1]) <= 4
    assert local_driver_memory(_Conf(**{"spark.driver.memory": "2g"}), {}) is None  # the user's choice stands
    assert local_driver_memory(_Conf(), {"SPARK_DRIVER_MEMORY": "6g"}) is None
    assert local_driver_memory(_Conf(), {"PYSPARK_SUBMIT_ARGS": "--driver-memory 8g pyspark-shell"}) is None
