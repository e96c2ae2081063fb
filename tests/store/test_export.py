"""Reviews become training data: the export is read by `triage train` with no mapping."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import BUNDLED
from tests.store.conftest import make_decision
from triage.cli import app, commands, export  # noqa: F401  (registers the commands)
from triage.store import Recorder, Store, TicketRecord, submit_review
from triage.store.export import COLUMNS, export_reviews
from triage.store.purge import purge_text

runner = CliRunner()
LOW = (("low_confidence", "category"),)


def _reviewed(store: Store, rows: pd.DataFrame, *, at: datetime) -> None:
    """Each row recorded with a suggestion (wrong for every third ticket), then reviewed with its true labels;
    every 50th is 'not a ticket'."""
    items = []
    for i, row in enumerate(rows.itertuples()):
        category = "wrong" if i % 3 == 0 else row.category
        created = datetime.fromisoformat(row.created_at).replace(tzinfo=UTC)
        record = TicketRecord(id=row.id, subject=row.subject, body=row.body, channel=row.channel, created_at=created)
        items.append((record, make_decision(category, row.priority, row.tier, reasons=LOW)))
    assert Recorder(store).record_many(items, received_at=at)
    for i, row in enumerate(rows.itertuples()):
        labels = {"category": row.category, "priority": row.priority, "tier": row.tier}
        submit_review(store, row.id, f"agent{i % 3}", version=1, labels=labels, not_a_ticket=i % 50 == 49, now=at)


def test_the_export_holds_each_review_once_with_its_provenance(store: Store, tmp_path: Path) -> None:
    rows = pd.read_csv(BUNDLED, nrows=120)
    before, after = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    _reviewed(store, rows.iloc[:20], at=before)
    _reviewed(store, rows.iloc[20:], at=after)
    out = tmp_path / "reviews.csv"
    summary = export_reviews(store, out, since=datetime(2026, 11, 1, tzinfo=UTC))
    exported = pd.read_csv(out, keep_default_na=False)
    assert tuple(exported.columns) == COLUMNS
    assert summary.rows == len(exported) == 98 and summary.not_a_ticket == 2  # 100 reviewed since, 2 not tickets
    assert summary.by_provenance == {"agent_corrected": 33, "agent_accepted": 65}  # every third suggestion was wrong
    truth = rows.set_index("id")
    for row in exported.itertuples():
        assert (row.category, row.priority, row.tier) == tuple(truth.loc[row.id, ["category", "priority", "tier"]])
    assert set(exported["created_at"]) <= {f"{d.replace(' ', 'T')}+00:00" for d in truth["created_at"]}
    # purged text cannot be learnt from: left out and counted
    assert purge_text(store, retention_days=1, now=datetime.now(UTC) + timedelta(days=2)) == 120
    purged = export_reviews(store, tmp_path / "none.csv", include_not_a_ticket=True)
    assert (purged.rows, purged.purged) == (0, 120)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_triage_train_reads_the_export_as_is(store: Store, tmp_path: Path) -> None:
    _reviewed(store, pd.read_csv(BUNDLED, nrows=900), at=datetime.now(UTC))
    out = tmp_path / "reviews.csv"
    url = store.engine.url.render_as_string(hide_password=False)
    exported = runner.invoke(app, ["export", "reviews", "--since", "2026-01-01", "--out", str(out), "--url", url])
    assert exported.exit_code == 0, exported.output
    assert "wrote 882 reviewed tickets" in exported.output and "18 'not a ticket' reviews left out" in exported.output
    with out.open() as handle:
        assert next(csv.reader(handle))[:7] == ["id", "created_at", "subject", "body", "category", "priority", "tier"]
    args = ["train", str(out), "--out", str(tmp_path / "model"), "--features", "tfidf", "--no-mlflow"]
    trained = runner.invoke(app, [*args, "--precision-target", "0", "--trees", "off"])
    assert trained.exit_code == 0, trained.output
    assert (tmp_path / "model" / "manifest.json").is_file()
    for head in ("category", "priority", "tier"):
        assert head in trained.output
