"""`triage train --from-store`: the store's labelled tickets (outcomes over reviews) join the exports, the
store wins per ticket id, purged text and "not a ticket" are left out, and the data-quality summary counts
each provenance; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import triage.cli.export  # noqa: F401  (registers the commands)
from tests.conftest import BUNDLED
from tests.store import conftest as store_fixtures
from tests.store.conftest import make_decision
from triage.cli import app, commands  # noqa: F401  (registers the commands)
from triage.data import load_tickets
from triage.store import (
    OutcomeRecord,
    Recorder,
    SchemaNotReady,
    Store,
    TicketRecord,
    record_outcomes,
    submit_review,
)
from triage.store.labels import training_source
from triage.store.purge import purge_text

# the store's fixtures: every test here runs on SQLite and on PostgreSQL
backend, store = store_fixtures.backend, store_fixtures.store
sqlite_template, pg_migrated, pg_schema_factory = (
    store_fixtures.sqlite_template,
    store_fixtures.pg_migrated,
    store_fixtures.pg_schema_factory,
)
runner = CliRunner()
LOW = (("low_confidence", "category"),)
NOW = datetime.now(UTC)


def _record(db: Store, rows: pd.DataFrame, *, at: datetime, wrong: bool = False) -> None:
    items = []
    for row in rows.itertuples():
        record = TicketRecord(id=row.id, subject=row.subject, body=row.body)
        category = "not_a_category" if wrong else row.category
        items.append((record, make_decision(category, row.priority, row.tier, reasons=LOW)))
    assert Recorder(db).record_many(items, received_at=at)


def _fill(db: Store, rows: pd.DataFrame, export: pd.DataFrame) -> None:
    """The store of a desk that has run a while:
    - the first 3 tickets of the export, reviewed with another category (the store must win);
    - 40 new tickets accepted by agents, 30 corrected by agents (suggested a category that is not one);
    - 10 of the accepted ones later resolved in the ticketing system with another priority (outcome wins);
    - 20 tickets never triaged, known only from their outcome (with their text);
    - 5 reviewed long ago and purged; 2 'not a ticket'."""
    old = export.iloc[:3]
    _record(db, old, at=NOW)
    for row in old.itertuples():
        submit_review(db, row.id, "ann", version=1, labels={"category": "relabelled"})
    accepted, corrected = rows.iloc[:40], rows.iloc[40:70]
    _record(db, accepted, at=NOW)
    _record(db, corrected, at=NOW, wrong=True)
    for row in pd.concat([accepted, corrected]).itertuples():
        submit_review(db, row.id, "bob", version=1, labels={"category": row.category})
    outcomes = [OutcomeRecord(r.id, "servicenow", {"priority": "P1"}) for r in accepted.iloc[:10].itertuples()]
    outcomes += [
        OutcomeRecord(r.id, "zendesk", {"category": r.category, "priority": r.priority}, subject=r.subject, body=r.body)
        for r in rows.iloc[70:90].itertuples()
    ]
    record_outcomes(db, outcomes)
    purged = rows.iloc[90:95]
    _record(db, purged, at=NOW - timedelta(days=200))
    for row in purged.itertuples():
        submit_review(db, row.id, "ann", version=1)
    assert purge_text(db, retention_days=90) == 5
    spam = rows.iloc[95:97]
    _record(db, spam, at=NOW)
    for row in spam.itertuples():
        submit_review(db, row.id, "ann", version=1, not_a_ticket=True)


@pytest.fixture
def desk(store: Store, tmp_path: Path) -> tuple[Store, Path, pd.DataFrame]:
    db = store
    rows = pd.read_csv(BUNDLED, nrows=700)
    export, newer = rows.iloc[:500], rows.iloc[500:]
    path = tmp_path / "export.csv"
    export.to_csv(path, index=False)
    _fill(db, newer, export)
    return db, path, newer


def test_the_store_joins_the_exports_and_wins_per_id(desk: tuple[Store, Path, pd.DataFrame]) -> None:
    db, export, newer = desk
    plain = load_tickets([export])
    tickets = load_tickets([export], labelled=training_source(db))
    frame = tickets.frame.set_index("id")
    quality = tickets.quality
    # 3 export tickets relabelled by the store, 70 reviewed + 20 outcome-only new ones
    assert len(frame) == plain.quality.rows_kept + 90
    assert quality.provenance == {
        "export": plain.quality.rows_kept - 3,
        "agent_accepted": 30,  # 40 accepted, 10 of them then resolved with an outcome
        "agent_corrected": 33,  # 30 corrected + the 3 export tickets
        "outcome": 30,  # 10 over reviews, 20 never triaged
    }
    first = newer.iloc[0]
    assert frame.loc[first.id, "priority"] == "P1" and frame.loc[first.id, "provenance"] == "outcome"
    assert frame.loc[first.id, "category"] == first.category  # the head the outcome left empty: the review's
    relabelled = pd.read_csv(export).iloc[0]
    assert frame.loc[relabelled.id, "category"] == "relabelled"
    assert frame.loc[relabelled.id, "provenance"] == "agent_corrected"
    only_outcome = newer.iloc[70]
    assert frame.loc[only_outcome.id, "text"] == f"{only_outcome.subject}. {only_outcome.body}"
    for gone in newer.iloc[90:97].id:  # purged text and "not a ticket": left out, and said so
        assert gone not in frame.index
    assert any("5 labelled tickets of the store left out" in n for n in quality.notes)
    assert any("2 tickets of the store left out" in n for n in quality.notes)
    assert quality.dropped == {**plain.quality.dropped, "replaced_by_store": 3}
    assert quality.rows_read == plain.quality.rows_read + 93 and quality.files[-1].startswith("store ")


def test_an_export_of_reviews_keeps_its_provenance(desk: tuple[Store, Path, pd.DataFrame], tmp_path: Path) -> None:
    db, _, _ = desk
    url = db.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "reviews.csv"
    exported = runner.invoke(app, ["export", "reviews", "--out", str(out), "--url", url])
    assert exported.exit_code == 0, exported.output
    assert "30 agent_accepted, 33 agent_corrected, 30 outcome" in exported.output.replace("\n", " ")
    assert load_tickets([out]).quality.provenance == {"agent_accepted": 30, "agent_corrected": 33, "outcome": 30}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_triage_train_from_store(desk: tuple[Store, Path, pd.DataFrame], tmp_path: Path) -> None:
    db, export, _ = desk
    url = db.engine.url.render_as_string(hide_password=False)
    args = ["train", str(export), "--from-store", "--database-url", url, "--out", str(tmp_path / "model")]
    quick = ["--features", "tfidf", "--trees", "off", "--precision-target", "0", "--no-mlflow"]
    trained = runner.invoke(app, [*args, *quick, "--novelty-false-alarm", "0"])
    assert trained.exit_code == 0, trained.output
    output = " ".join(trained.output.split())
    assert "93 labelled tickets" in output and "30 outcome" in output
    assert "labels from:" in output and "33 agent_corrected" in output
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    quality = json.loads((tmp_path / "model" / "data_quality.json").read_text())
    assert quality["provenance"]["outcome"] == 30 and manifest["data"]["n_tickets"] == quality["rows_kept"]
    unmigrated = runner.invoke(app, [*args, *quick, "--database-url", f"sqlite:///{tmp_path / 'none.db'}"])
    assert isinstance(unmigrated.exception, SchemaNotReady) and "triage db upgrade" in str(unmigrated.exception)
    assert not (tmp_path / "none.db").exists()
