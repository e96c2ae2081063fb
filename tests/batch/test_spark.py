"""Batch triage on a local Spark: the same tickets, decisions and metrics as the local commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from triage.cli import app, commands  # noqa: F401  (registers the commands)

runner = CliRunner()


@pytest.fixture(scope="module")
def tickets(small_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The held-out tickets, with a row of the wrong width and a ticket without text, as exports have."""
    lines = small_export.read_text().splitlines()
    header = lines[0].split(",")
    path = tmp_path_factory.mktemp("spark-data") / "tickets.csv"
    path.write_text("\n".join([*lines, ",".join(["x"] * (len(header) + 2))]) + "\n")
    return path


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_spark_predict_agrees_ticket_for_ticket(
    spark: SparkSession, trained_bundle: Path, tickets: Path, tmp_path: Path
) -> None:
    _invoke("predict", "--model", str(trained_bundle), str(tickets), "--out", str(tmp_path / "local.csv"))
    output = _invoke(
        "predict",
        "--engine",
        "spark",
        "--model",
        str(trained_bundle),
        str(tickets),
        "--out",
        str(tmp_path / "spark[1]"),
    )
    assert "1 unreadable rows left out" in output
    local = pd.read_csv(tmp_path / "local.csv", keep_default_na=False).set_index("id").sort_index()
    parts = [p for p in (tmp_path / "spark[1]").iterdir() if p.name.startswith("decision=")]
    assert {p.name for p in parts} == {"decision=auto_route", "decision=needs_review"}  # both branches reached
    on_spark = pd.read_parquet(tmp_path / "spark[1]")
    on_spark["decision"] = on_spark["decision"].astype(str)
    on_spark = on_spark.set_index("id").sort_index()[local.columns]
    assert len(on_spark) == len(local) == 900
    assert on_spark.index.equals(local.index)
    for column in local.columns:
        if column.endswith(("_confidence", "_threshold")):
            assert (on_spark[column].round(4) - local[column]).abs().max() < 1e-9, column
        else:
            assert on_spark[column].fillna("").astype(str).tolist() == local[column].astype(str).tolist(), column
    decisions = local["decision"].value_counts()
    assert decisions["auto_route"] > 0 and decisions["needs_review"] > 0
    assert f"auto_route {decisions['auto_route']}" in output


def test_spark_evaluate_agrees_to_the_last_digit(
    spark: SparkSession, trained_bundle: Path, tickets: Path, tmp_path: Path
) -> None:
    common = ("--model", str(trained_bundle), str(tickets), "--no-mlflow")
    _invoke("evaluate", *common, "--out", str(tmp_path / "local"))
    _invoke("evaluate", "--engine", "spark", *common, "--out", str(tmp_path / "spark"))
    local = (tmp_path / "local" / "metrics.json").read_text()
    on_spark = (tmp_path / "spark" / "metrics.json").read_text()
    assert json.loads(local)["overall"]["auto_route"]["n_auto"] > 0  # auto-routed and deferred tickets counted
    assert json.loads(local)["overall"]["auto_route"]["n_auto"] < 900
    assert on_spark == local
    # the report from the aggregates: the local one but for when it was made (and no example tickets: the
    # Markdown shows none either way)
    generated = re.compile(r"\(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)")
    local_md, spark_md = ((tmp_path / d / "report.md").read_text() for d in ("local", "spark"))
    assert "Most frequent confusions" in local_md
    assert generated.sub("", spark_md) == generated.sub("", local_md)
    html = (tmp_path / "spark" / "report.html").read_text()
    assert "<svg" in html and "Most frequent" in html
    quality = json.loads((tmp_path / "spark" / "data_quality.json").read_text())
    assert quality["rows_kept"] == 900 and quality["rows_read"] == 901  # the row of the wrong width is left out
    assert quality["dropped"] == {"unreadable_no_text_or_no_label": 1}


def test_spark_reads_parquet_folders_and_jsonl(
    spark: SparkSession, trained_bundle: Path, small_export: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(small_export, dtype=str, keep_default_na=False)
    folder = tmp_path / "lake"
    folder.mkdir()
    frame.iloc[:400].to_parquet(folder / "part-0.parquet")
    frame.iloc[400:].to_parquet(folder / "part-1.parquet")
    (tmp_path / "tickets.jsonl").write_text(frame.to_json(orient="records", lines=True))
    common = ("--model", str(trained_bundle), "--no-mlflow")
    _invoke("evaluate", *common, str(small_export), "--out", str(tmp_path / "local"))
    _invoke("evaluate", "--engine", "spark", *common, str(folder), "--out", str(tmp_path / "parquet"))
    _invoke("evaluate", "--engine", "spark", *common, str(tmp_path / "tickets.jsonl"), "--out", str(tmp_path / "jsonl"))
    local = (tmp_path / "local" / "metrics.json").read_text()
    assert (tmp_path / "parquet" / "metrics.json").read_text() == local
    assert (tmp_path / "jsonl" / "metrics.json").read_text() == local


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file or folder"),
        ("tickets.xlsx", b"PK", "is not read on Spark"),
        ("tickets.txt", b"a,b\n", "unknown export format"),
    ],
)
def test_spark_bad_input_is_a_clear_error(
    spark: SparkSession, trained_bundle: Path, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(
        app, ["predict", "--engine", "spark", "--model", str(trained_bundle), str(path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code != 0
    assert message in str(result.exception) and name in str(result.exception)


def test_spark_names_a_missing_column(spark: SparkSession, trained_bundle: Path, tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("id,subject,body\n1,VPN down,since 9am\n")
    result = runner.invoke(
        app,
        [
            "predict",
            "--engine",
            "spark",
            "--model",
            str(trained_bundle),
            str(path),
            "--text",
            "title",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code != 0
    assert "'title'" in str(result.exception) and "not found" in str(result.exception)
