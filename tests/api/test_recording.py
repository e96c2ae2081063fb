"""Recording from the API: /v1/triage and /v1/triage/batch store each ticket and say `"recorded"` (accepted by
the write-behind recorder: written within milliseconds, before a read of the ticket through the service, and
before the service stops); recording off, a full queue, an unreachable store (degraded, counted misses) and an
unmigrated one (no start)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import KEY, make_settings
from triage.api.main import create_app
from triage.store import SchemaNotReady, Store, get_ticket, upgrade
from triage.store.engine import make_engine

TICKET = {
    "id": "INC0012345",
    "subject": "VPN keeps disconnecting",
    "body": "<p>Since this morning the VPN drops every few minutes when I work from home.</p>",
    "channel": "email",
    "created_at": "2026-11-23T09:15:00Z",
    "metadata": {"site": "Berlin"},
}


def migrated(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def database(tmp_path: Path) -> str:
    return migrated(tmp_path / "triage.db")


def recording_client(bundle: Path, **overrides: object) -> TestClient:
    client = TestClient(create_app(make_settings(bundle, **overrides)), raise_server_exceptions=False)
    client.headers["X-API-Key"] = KEY
    return client


@pytest.fixture
def client(trained_bundle: Path, database: str) -> Iterator[TestClient]:
    with recording_client(trained_bundle, record=True, database_url=database) as c:
        yield c


def written(client: TestClient) -> None:
    """Wait until the service's recorder has written what it accepted (a reader outside the service does not
    wait for it: the service's own reads do)."""
    assert client.app.state.recording.recorder.flush(timeout=10)  # type: ignore[attr-defined]


def test_a_triaged_ticket_is_recorded_with_its_decision(client: TestClient, database: str) -> None:
    answer = client.post("/v1/triage", json=TICKET).json()
    assert answer["recorded"] is True and answer["id"] == "INC0012345"
    written(client)
    store = Store.from_url(database)
    ticket = get_ticket(store, "INC0012345")
    store.dispose()
    assert ticket.body == "Since this morning the VPN drops every few minutes when I work from home."
    assert (ticket.subject, ticket.channel, ticket.metadata) == ("VPN keeps disconnecting", "email", {"site": "Berlin"})
    assert ticket.decision is not None
    stored = ticket.decision.decision.model_dump(mode="json")
    assert stored == {k: answer[k] for k in ("outcome", "reasons", "heads", "model_version")}
    assert ticket.truncated is False
    long = {**TICKET, "body": "word " * 200}  # over the tests' TRIAGE_MAX_TEXT_CHARS (500)
    assert client.post("/v1/triage", json=long).json()["truncated"] is True
    assert client.get("/v1/tickets/INC0012345").json()["truncated"] is True  # the service's read waits for it
    store = Store.from_url(database)
    kept = get_ticket(store, "INC0012345")
    store.dispose()
    assert kept.subject is not None and kept.body is not None
    assert len(f"{kept.subject}. {kept.body}") <= 500  # the text the model read, no more
    again = client.post("/v1/triage", json=TICKET).json()  # a retry of the ticketing system
    assert again["recorded"] is True
    assert client.get("/v1/tickets/INC0012345").json()["times_received"] == 3


def test_a_ticket_without_id_is_told_the_id_it_was_recorded_under(client: TestClient) -> None:
    answer = client.post("/v1/triage", json={"subject": "printer jams on floor 3"}).json()
    assert answer["recorded"] is True and answer["id"].startswith("triage-")
    stored = client.get(f"/v1/tickets/{answer['id']}").json()
    assert stored["decision"]["outcome"] == answer["outcome"]


def test_a_batch_is_recorded_ticket_by_ticket(client: TestClient) -> None:
    tickets = [{"id": "B1", "subject": "VPN down"}, {"id": "B2", "body": ""}, {"id": "B3", "subject": "new laptop"}]
    results = client.post("/v1/triage/batch", json={"tickets": tickets}).json()["results"]
    assert [(r["ok"], (r["result"] or {}).get("recorded")) for r in results] == [
        (True, True),
        (False, None),
        (True, True),
    ]
    assert client.get("/v1/tickets/B3").status_code == 200
    assert client.get("/v1/tickets/B2").json()["error"]["code"] == "not_found"


def test_accepted_tickets_are_written_before_the_service_stops(trained_bundle: Path, database: str) -> None:
    with recording_client(trained_bundle, record=True, database_url=database, max_batch=60) as client:
        recorder = client.app.state.recording.recorder  # type: ignore[attr-defined]
        recorder.batch = 1  # many small transactions: some are still queued when the service stops
        tickets = [{"id": f"S{i}", "subject": f"printer {i} jams"} for i in range(60)]
        results = client.post("/v1/triage/batch", json={"tickets": tickets}).json()["results"]
        assert all(r["result"]["recorded"] for r in results)
    store = Store.from_url(database)
    assert [get_ticket(store, f"S{i}").times_received for i in range(60)] == [1] * 60  # none lost, none twice
    store.dispose()


def test_a_full_recording_queue_answers_unrecorded_and_counts_the_miss(client: TestClient, database: str) -> None:
    recorder = client.app.state.recording.recorder  # type: ignore[attr-defined]
    recorder.capacity = 0  # as when the database writes more slowly than tickets arrive
    answer = client.post("/v1/triage", json=TICKET).json()
    assert answer["recorded"] is False and answer["id"] == "INC0012345"
    assert "triage_recording_misses_total 1.0" in client.get("/metrics").text
    assert client.get("/v1/tickets/INC0012345").status_code == 404  # the ticketing system re-sends it
    recorder.capacity = 10
    assert client.post("/v1/triage", json=TICKET).json()["recorded"] is True
    assert client.get("/v1/tickets/INC0012345").json()["times_received"] == 1


def test_recording_off(trained_bundle: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never.db'}"
    with recording_client(trained_bundle, record=False, database_url=url) as client:
        answer = client.post("/v1/triage", json=TICKET).json()
        assert answer["recorded"] is False and answer["id"] == "INC0012345"
        assert client.get("/readyz").json() == {"status": "ready", "model_version": answer["model_version"]}
        response = client.get("/v1/tickets/INC0012345")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert "TRIAGE_RECORD=off" in response.json()["error"]["message"]
    assert not (tmp_path / "never.db").exists()


def test_an_unmigrated_store_stops_the_start(trained_bundle: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(trained_bundle, record=True, database_url=f"sqlite:///{tmp_path / 'new.db'}"))
    with pytest.raises(SchemaNotReady, match="run `triage db upgrade`"), TestClient(app):
        pass


def test_an_unreachable_store_degrades_the_service(trained_bundle: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    with recording_client(trained_bundle, record=True, database_url=url) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert "store unreachable" in ready.json()["reason"] and "secret" not in ready.json()["reason"]
        start = time.perf_counter()
        answer = client.post("/v1/triage", json=TICKET)
        assert answer.status_code == 200 and answer.json()["recorded"] is False
        assert time.perf_counter() - start < 3
        batch = client.post("/v1/triage/batch", json={"tickets": [TICKET, TICKET]}).json()
        assert [r["result"]["recorded"] for r in batch["results"]] == [False, False]
        assert "triage_recording_misses_total 3.0" in client.get("/metrics").text
        assert client.get("/v1/tickets/INC0012345").status_code == 503
    assert "VPN" not in caplog.text and "secret" not in caplog.text  # never ticket text, never the password


def test_the_service_purges_old_text_at_start(trained_bundle: Path, database: str) -> None:
    from datetime import timedelta

    from tests.store.conftest import make_decision
    from triage.store import Recorder, TicketRecord
    from triage.store.types import utcnow

    store = Store.from_url(database)
    old = utcnow() - timedelta(days=91)
    assert Recorder(store).record(TicketRecord(id="OLD", subject="s", body="b"), make_decision(), received_at=old)
    with recording_client(trained_bundle, record=True, database_url=database) as client:
        deadline = time.monotonic() + 5
        while not client.get("/v1/tickets/OLD").json()["text_purged"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.get("/v1/tickets/OLD").json()["text_purged"] is True
    assert get_ticket(store, "OLD").subject is None
    store.dispose()
