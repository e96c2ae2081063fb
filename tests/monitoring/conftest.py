"""Fixtures of the live-quality tests: the store tests' migrated stores on SQLite and PostgreSQL, and a seed
whose every figure is known by hand (auto-routed tickets judged by an outcome or a review, deferred ones
reviewed, an old and a too-old ticket)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.api.conftest import KEY, make_settings
from tests.store.conftest import (  # noqa: F401  (fixtures shared with the store's tests)
    backend,
    make_decision,
    pg_migrated,
    pg_schema_factory,
    sqlite_template,
    store,
)
from triage.api.main import create_app
from triage.store import Recorder, Store, TicketRecord, submit_review, upgrade
from triage.store.engine import make_engine
from triage.store.models import outcomes
from triage.store.types import utcnow

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LOW_CATEGORY = (("low_confidence", "category"),)
UNFAMILIAR = (("unfamiliar", None),)


def _record(db: Store, ticket_id: str, category: str, *, at: datetime, reasons: tuple = ()) -> None:
    decision = make_decision(category, "P3", "L1", reasons=reasons)
    record = TicketRecord(id=ticket_id, subject=f"subject {ticket_id}", body="body")
    assert Recorder(db).record(record, decision, received_at=at)


def _outcome(db: Store, ticket_id: str, category: str, *, at: datetime) -> None:
    row = {"ticket_id": ticket_id, "source": "servicenow", "resolved_at": at, "received_at": at,
           "category": category, "priority": None, "tier": None, "disagrees": []}  # fmt: skip
    with db.write() as conn:
        conn.execute(insert(outcomes), row)


def _review(db: Store, ticket_id: str, *, at: datetime, not_a_ticket: bool = False, **labels: str) -> None:
    submit_review(db, ticket_id, "ann", version=None, labels=labels, not_a_ticket=not_a_ticket, now=at)


def seed(db: Store, now: datetime = NOW) -> None:
    """Within 7 days: five auto-routed ``vpn`` tickets (A1 right by its outcome, A2 wrong by its outcome, A3
    right by its review, A4 reviewed wrong but right by its later outcome, A5 unjudged); D1 deferred (low
    confidence) as ``email``, corrected to ``vpn``; D2 deferred (unfamiliar) as ``vpn``, accepted; D3 deferred
    as ``email``, "not a ticket"; D4 deferred, waiting in the queue. 20 days ago: O1 auto-routed ``vpn``,
    wrong by its review. 40 days ago: X1, outside every window."""

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    for ticket_id in ("A1", "A2", "A3", "A4", "A5"):
        _record(db, ticket_id, "vpn", at=ago(1))
    _record(db, "D1", "email", at=ago(2), reasons=LOW_CATEGORY)
    _record(db, "D2", "vpn", at=ago(2), reasons=UNFAMILIAR)
    _record(db, "D3", "email", at=ago(2), reasons=LOW_CATEGORY)
    _record(db, "D4", "printer", at=ago(3), reasons=LOW_CATEGORY + UNFAMILIAR)
    _record(db, "O1", "vpn", at=ago(20))
    _record(db, "X1", "vpn", at=ago(40))
    _outcome(db, "A1", "vpn", at=ago(0.5))
    _outcome(db, "A2", "email", at=ago(0.5))
    _review(db, "A3", category="vpn", at=ago(0.5))
    _review(db, "A4", category="email", at=ago(0.8))
    _outcome(db, "A4", "vpn", at=ago(0.5))
    _review(db, "D1", category="vpn", at=ago(0.5))
    _review(db, "D2", at=ago(0.5))
    _review(db, "D3", not_a_ticket=True, at=ago(0.5))
    _review(db, "O1", category="email", at=ago(19))
    _review(db, "X1", category="email", at=ago(39))


@pytest.fixture
def service(trained_bundle: Path, tmp_path: Path) -> Iterator[TestClient]:
    """A recording service on a SQLite store holding the seed (relative to now)."""
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    seeded = Store.from_url(url)
    seed(seeded, utcnow())
    seeded.dispose()
    app = create_app(make_settings(trained_bundle, record=True, database_url=url))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = KEY
        yield client
