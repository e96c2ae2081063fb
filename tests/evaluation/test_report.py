"""The evaluation reports: content of report.html / report.md, slices, and a render check in headless
Chromium (Debian's package, installed by `make test`)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triage.data import load_tickets
from triage.decision import Triager
from triage.errors import DataError
from triage.evaluation import evaluate
from triage.evaluation.metrics import reliability_bins, top_confusions, wilson_interval
from triage.evaluation.report import class_rows, write_reports
from triage.models import load_bundle

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report_dir(trained_bundle: Path, small_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = load_bundle(trained_bundle)
    tickets = load_tickets([small_export], dedupe=False)
    evaluation = evaluate(Triager(bundle), tickets.frame, slices=["channel", "month"])
    out = tmp_path_factory.mktemp("report")
    write_reports(evaluation, tickets.frame, bundle.manifest, tickets.quality, out, title="Test report")
    return out


def test_reliability_bins_and_top_confusions() -> None:
    bins = reliability_bins(np.array([0.05, 0.1, 0.95, 0.97]), np.array([False, True, True, True]), bins=10)
    assert [(b["n"], b["accuracy"]) for b in bins] == [(2, 0.5), (2, 1.0)]
    confusions = top_confusions(np.array(["a", "a", "a", "b", "b"]), np.array(["b", "b", "a", "a", "b"]))
    assert confusions[0] == {"true": "a", "predicted": "b", "n": 2, "share_of_true": pytest.approx(2 / 3)}
    assert [c["n"] for c in confusions] == [2, 1]
    assert top_confusions(np.array(["a"]), np.array(["a"])) == []


def test_wilson_interval_is_wide_at_small_support() -> None:
    low, high = wilson_interval(9, 10)
    assert 0.55 < low < 0.6 and 0.98 < high <= 1.0
    narrow = wilson_interval(900, 1000)
    assert narrow[1] - narrow[0] < 0.05
    assert wilson_interval(0, 0) is None


def test_class_rows_mark_weak_and_never_routed_classes() -> None:
    metrics = {
        "macro_f1": 0.8,
        "per_class": {
            "a": {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 10},
            "b": {"precision": 0.97, "recall": 0.6, "f1": 0.55, "support": 500},
        },
        "confusion": {"labels": ["a", "b"], "matrix": [[9, 1], [1, 300]]},
        "per_class_auto_route": {
            "a": {"threshold": 0.5, "predicted": 10, "coverage": 0.9, "precision": 0.95},
            "b": {"threshold": None, "predicted": 301, "coverage": 0.0, "precision": None},
        },
    }
    weak, strong = class_rows(metrics)  # weakest first
    assert weak["label"] == "b" and weak["weak"] and weak["never_routed"] and weak["recall_ci"] is None
    assert strong["label"] == "a" and not strong["weak"] and strong["recall_ci"] is not None
    assert strong["predicted"] == 10 and strong["precision_ci"][0] < 0.9 < strong["precision_ci"][1]


def test_report_files_are_self_contained_and_complete(report_dir: Path, trained_bundle: Path) -> None:
    html = (report_dir / "report.html").read_text()
    manifest = load_bundle(trained_bundle).manifest
    assert manifest.model_version in html and manifest.data["fingerprint"][:12] in html
    # one file: no external scripts, styles, images or fonts
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert "<link" not in html
    for head, info in manifest.heads.items():
        section = html[html.index(f'id="head-{head}"') :]
        section = section[: section.index("</section>")]
        assert section.count("<svg") == 2  # reliability and risk-coverage
        assert 'src="data:image/png;base64,' in section  # confusion heat map
        assert section.count("<tr class=") == len(info.labels)  # one per-class row per label
    assert 'id="slices"' in html and "by channel" in html and "by month" in html
    md = (report_dir / "report.md").read_text()
    assert md.startswith("# Test report") and "**Auto-routed:" in md and "## By channel" in md
    assert "| category |" in md


def test_slices_report_each_value_and_refuse_unknown_columns(trained_bundle: Path, small_export: Path) -> None:
    triager = Triager(load_bundle(trained_bundle))
    frame = load_tickets([small_export], dedupe=False).frame
    slices = evaluate(triager, frame, slices=["channel"]).metrics["slices"]["channel"]
    assert sum(row["n"] for row in slices) == len(frame)
    assert {row["value"] for row in slices} == set(frame["channel"])
    email = next(row for row in slices if row["value"] == "email")
    part = frame[frame["channel"] == "email"]
    predicted = load_bundle(trained_bundle).model.predict(part["text"].tolist())["category"]
    assert email["category_accuracy"] == pytest.approx((predicted.to_numpy() == part["category"].to_numpy()).mean())
    with pytest.raises(DataError, match="'colour': no such column"):
        evaluate(triager, frame, slices=["colour"])
    with pytest.raises(DataError, match="no created_at"):
        evaluate(triager, frame.assign(created_at=pd.NaT), slices=["month"])


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Chromium not installed (make test installs it)"
)
def test_report_renders_in_headless_chromium_without_errors(report_dir: Path, trained_bundle: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "CI needs Debian's chromium: `make test` installs it"
    labels = load_bundle(trained_bundle).manifest.heads["category"].labels
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(r.url))
        page.goto((report_dir / "report.html").as_uri())
        page.wait_for_load_state("load")
        section = page.locator("#head-category")
        assert section.locator("figure.reliability svg").count() == 1
        assert section.locator("figure.risk-coverage svg").count() == 1
        box = section.locator("figure.reliability svg").bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 150
        image = section.locator("figure.confusion img")
        assert image.evaluate("img => img.complete && img.naturalWidth") > 300  # the PNG decoded
        rows = section.locator("table.per-class tbody tr")
        assert rows.count() == len(labels)
        # sorting: a click on "support" orders the rows by support, a second click reverses
        support = section.locator("table.per-class th", has_text="support")
        support.click()
        ascending = [int(v) for v in section.locator("table.per-class tbody tr td:nth-child(5)").all_inner_texts()]
        assert ascending == sorted(ascending)
        support.click()
        descending = [int(v) for v in section.locator("table.per-class tbody tr td:nth-child(5)").all_inner_texts()]
        assert descending == sorted(ascending, reverse=True)
        assert page.locator("#slices table.slice").count() == 2
        browser.close()
    assert problems == []


def test_evaluate_logs_the_report_to_the_models_mlflow_run(small_export: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient
    from typer.testing import CliRunner

    from training import TrainConfig, train
    from triage.cli import app, commands  # noqa: F401  (registers the commands)

    few = tmp_path / "few.csv"
    pd.read_csv(small_export).head(300).to_csv(few, index=False)
    result = train([few], tmp_path / "model", config=TrainConfig(feature_set="tfidf", min_class_count=3))
    assert result.run_id is not None
    cli = CliRunner().invoke(
        app, ["evaluate", "--model", str(tmp_path / "model"), str(few), "--out", str(tmp_path / "holdout-eval")]
    )
    assert cli.exit_code == 0, cli.output
    assert f"logged evaluation report to MLflow run {result.run_id}" in cli.output
    client = MlflowClient()
    files = {f.path for f in client.list_artifacts(result.run_id, "evaluation/holdout-eval")}
    assert {"evaluation/holdout-eval/report.html", "evaluation/holdout-eval/metrics.json"} <= files
    logged = client.get_run(result.run_id).data.metrics
    written = json.loads((tmp_path / "holdout-eval" / "metrics.json").read_text())
    assert logged["evaluation.holdout-eval.category.accuracy"] == pytest.approx(written["category"]["accuracy"])


def test_reports_can_leave_ticket_text_out(trained_bundle: Path, small_export: Path, tmp_path: Path) -> None:
    bundle = load_bundle(trained_bundle)
    tickets = load_tickets([small_export], dedupe=False)
    evaluation = evaluate(Triager(bundle), tickets.frame)
    with_text = write_reports(evaluation, tickets.frame, bundle.manifest, tickets.quality, tmp_path / "a")[0]
    without = write_reports(evaluation, tickets.frame, bundle.manifest, tickets.quality, tmp_path / "b", examples=False)
    assert 'class="example"' in with_text.read_text()
    html = without[0].read_text()
    assert 'class="example"' not in html and "Most frequent confusions" in html
    some_ticket = " ".join(str(tickets.frame["text"].iloc[0]).split())[:40]
    assert some_ticket not in html
