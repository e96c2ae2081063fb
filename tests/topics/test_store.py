"""Candidate categories from a desk's store: which stored tickets are read (flagged unfamiliar, or corrected
to a category the model lacks; not spam, not purged, not older than asked), and `triage topics` on them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests.topics.planted import WALLET, seed
from triage.cli import app, commands, topics  # noqa: F401  (registers the commands)
from triage.store import Store, get_ticket
from triage.store.types import utcnow
from triage.topics import candidate_tickets

runner = CliRunner()
KNOWN = {"vpn", "email", "hardware"}


def test_the_candidates_are_the_tickets_the_model_could_not_place(store: Store) -> None:
    expected = seed(store)
    found = candidate_tickets(store, since=utcnow() - timedelta(days=30), known_categories=KNOWN)
    assert {c.id for c in found} == expected
    by_id = {c.id: c for c in found}
    assert by_id["W0"].unfamiliar and by_id["W0"].new_category is None
    assert not by_id["P0"].unfamiliar and by_id["P0"].new_category == "parking"
    assert by_id["W0"].text == WALLET[0].replace(" ", ". ", 1)  # subject and body as the model read them
    assert [c.received_at for c in found] == sorted((c.received_at for c in found), reverse=True)
    latest = candidate_tickets(store, since=utcnow() - timedelta(days=30), known_categories=KNOWN, limit=5)
    assert [c.id for c in latest] == [c.id for c in found[:5]]
    with_parking = candidate_tickets(store, since=utcnow() - timedelta(days=30), known_categories={*KNOWN, "parking"})
    assert not any(c.id.startswith("P") for c in with_parking)
    assert get_ticket(store, "S0").review is not None  # spam was reviewed, and left out


def test_triage_topics_proposes_the_planted_categories(store_url: str, trained_bundle: Path) -> None:
    args = ["topics", "--database-url", store_url, "--model", str(trained_bundle), "--min-size", "5"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["candidates"], report["unfamiliar"], report["new_category"]) == (41, 32, 9)
    wallet, parking = report["topics"][:2]
    # in the words of a TF-IDF bundle, a short ticket sharing two words with the others may stay out
    assert wallet["terms"][0] == "crypto wallet" and {i[0] for i in wallet["ticket_ids"]} == {"W"}
    assert parking["terms"][0] == "parking permit" and {i[0] for i in parking["ticket_ids"]} == {"P"}
    assert wallet["size"] >= 10 and parking["size"] >= 8
    assert wallet["this_week"] + wallet["previous_week"] == wallet["size"] and len(wallet["examples"]) == 3
    text = runner.invoke(app, args)
    assert text.exit_code == 0
    assert "41 candidate tickets in the last 30 days (32 unfamiliar, 9 corrected" in text.output
    assert "1. crypto wallet" in text.output and "2. parking permit" in text.output
    narrow = json.loads(runner.invoke(app, [*args, "--days", "3", "--json"]).output)
    assert narrow["candidates"] < 41 and narrow["days"] == 3


def test_triage_topics_says_what_is_wrong(store_url: str, trained_bundle: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["topics", "--database-url", store_url, "--model", str(tmp_path), "--json"])
    assert result.exit_code != 0 and "not a model bundle" in str(result.exception)
    result = runner.invoke(app, ["topics", "--database-url", store_url, "--model", str(trained_bundle), "--days", "0"])
    assert result.exit_code == 2 and "--days" in result.output
