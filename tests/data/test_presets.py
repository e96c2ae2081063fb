"""Every preset trains, evaluates and predicts through the CLI on exports shaped as its system writes them
(``tests/fixtures/exports``, made by ``tests/fixtures/make_fixtures.py``): one bundle per preset, evaluated on
the other export forms of the same system, whose labels must all be ones the bundle knows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from triage.cli import (
    app,
    commands,  # noqa: F401  (registers the commands)
)
from triage.data import load_mapping, load_tickets

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
# the documented command, with boosted trees off to keep the test quick
TRAIN = ["--features", "tfidf", "--trees", "off", "--no-mlflow", "--precision-target", "0"]
HEADS = ("category", "priority", "tier")
runner = CliRunner()


@dataclass(frozen=True)
class Case:
    """A preset (or a mapping file extending it), the export it trains on, the exports it is evaluated on, and
    the export columns the training output must name."""

    mapping: str
    train: str
    evaluate: tuple[str, ...]
    columns: tuple[str, ...]
    labels: tuple[str, ...] = ()
    heads: tuple[str, ...] = HEADS
    evaluate_args: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def label_args(self, export: str) -> list[str]:
        labels = self.evaluate_args.get(export, self.labels)
        return [arg for label in labels for arg in ("--label", label)]


CASES = {
    "servicenow": Case(
        str(EXPORTS / "servicenow_mapping.json"),
        "servicenow_incidents.csv",
        ("servicenow_incidents.xlsx", "servicenow_resaved.csv"),
        ("short_description", "subcategory", "assignment_group"),
    ),
    "zendesk": Case(
        "zendesk",
        "zendesk_tickets.json",
        ("zendesk_incremental.jsonl", "zendesk_view.csv"),
        ("custom_field:360012345678", "group"),
        labels=("category=custom_field:360012345678",),
        evaluate_args={"zendesk_view.csv": ()},
    ),
    "jira": Case("jira", "jira_issues.csv", ("jira_search.json",), ("Component/s", "Custom field (Team)")),
    "jitbit": Case(
        "jitbit", "jitbit_tickets.json", ("jitbit_export.csv",), ("CategoryName", "Priority"), heads=HEADS[:2]
    ),
    "okdesk": Case(
        str(EXPORTS / "okdesk_mapping.json"), "okdesk_issues.json", ("okdesk_issues.xlsx",), ("type.name", "group_id")
    ),
    "freshdesk": Case("freshdesk", "freshdesk_tickets.json", ("freshdesk_tickets.json",), ("description_text",)),
    "freshservice": Case("freshservice", "freshservice_tickets.csv", ("freshservice_tickets.csv",), ("Sub-Category",)),
    "otrs": Case("otrs", "otrs_tickets.json", ("otrs_tickets.json",), ("Article.Body", "Service", "Queue")),
    "zammad": Case("zammad", "zammad_tickets.jsonl", ("zammad_tickets.jsonl",), ("article.body", "group")),
}


@pytest.fixture(scope="session")
def bundle_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, str]]:
    """Trains each preset's bundle once (on first use): its folder and the training output."""
    trained: dict[str, tuple[Path, str]] = {}

    def train(name: str) -> tuple[Path, str]:
        if name not in trained:
            case, out = CASES[name], tmp_path_factory.mktemp(name) / "model"
            args = ["train", str(EXPORTS / case.train), "--mapping", case.mapping, "--out", str(out), *TRAIN]
            result = runner.invoke(app, [*args, *case.label_args(case.train)])
            assert result.exit_code == 0, result.output
            trained[name] = (out, result.output)
        return trained[name]

    return train


@pytest.fixture
def no_report_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """``evaluate`` without drawing report.html (3 s of plots a call, tested in tests/evaluation); metrics.json
    is written as ever."""
    monkeypatch.setattr("triage.evaluation.report.write_reports", lambda *args, **kwargs: None)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.usefixtures("no_report_pages")
def test_preset_trains_evaluates_and_predicts(
    name: str, bundle_for: Callable[[str], tuple[Path, str]], tmp_path: Path
) -> None:
    case = CASES[name]
    bundle, output = bundle_for(name)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert tuple(manifest["heads"]) == case.heads
    assert "columns used" in output and all(column in output for column in case.columns), output
    for export in case.evaluate:
        report = tmp_path / export
        args = ["evaluate", "--model", str(bundle), str(EXPORTS / export), "--mapping", case.mapping, "--out"]
        result = runner.invoke(app, [*args, str(report), "--no-mlflow", *case.label_args(export)])
        assert result.exit_code == 0, result.output
        metrics = json.loads((report / "metrics.json").read_text())
        for head in case.heads:  # the other export form gives the same labels
            assert metrics[head]["unknown_label"]["n"] == 0, (export, head)
        assert metrics["category"]["accuracy"] >= 0.6, (export, metrics["category"]["accuracy"])
    for export in {case.train, *case.evaluate}:
        out = tmp_path / f"{export}.predictions.csv"
        args = ["predict", "--model", str(bundle), str(EXPORTS / export), "--mapping", case.mapping]
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        loaded = load_tickets([EXPORTS / export], load_mapping(case.mapping), require_labels=False, dedupe=False)
        predictions = pd.read_csv(out, dtype=str)
        assert predictions["id"].tolist() == loaded.frame["id"].tolist()
        assert set(predictions["decision"]) <= {"auto_route", "needs_review"}
        assert set(case.heads) <= set(predictions.columns)


def test_jira_predict_reads_repeated_columns(bundle_for: Callable[[str], tuple[Path, str]], tmp_path: Path) -> None:
    bundle, _ = bundle_for("jira")
    out = tmp_path / "p.csv"
    args = ["predict", "--model", str(bundle), str(EXPORTS / "jira_issues.csv"), "--mapping", "jira", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Component/s (x2)" in result.output and len(pd.read_csv(out)) == 100


@pytest.mark.usefixtures("no_report_pages")
def test_reading_options_reach_evaluate_and_predict(
    bundle_for: Callable[[str], tuple[Path, str]], tmp_path: Path
) -> None:
    bundle, _ = bundle_for("servicenow")
    export, mapping = str(EXPORTS / "servicenow_resaved.csv"), CASES["servicenow"].mapping
    options = ["--encoding", "cp1252", "--dayfirst", "--mapping", mapping]
    result = runner.invoke(app, ["predict", "--model", str(bundle), export, *options, "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert "read as windows-1252 (--encoding)" in result.output and "day first (as you said)" in result.output
    month_first = ["--monthfirst", "--mapping", mapping, "--no-mlflow", "--out", str(tmp_path / "r")]
    result = runner.invoke(app, ["evaluate", "--model", str(bundle), export, *month_first])
    assert result.exit_code == 0, result.output
    assert "bad_timestamp" in result.output  # 13/01/2025 and later: no month 13
    formatted = ["--date-format", "%d/%m/%Y %H:%M:%S", "--mapping", mapping, "--out", str(tmp_path / "q.csv")]
    result = runner.invoke(app, ["predict", "--model", str(bundle), export, *formatted])
    assert result.exit_code == 0 and "read with --date-format '%d/%m/%Y %H:%M:%S'" in result.output
