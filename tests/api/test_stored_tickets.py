"""GET /v1/tickets/{id} and POST /v1/tickets/{id}/review: the review state a ticketing system sees, and the
reviews its agents make in their own UI (provenance, conflicts refused with who and when, webhook outbox)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_recording import migrated, recording_client
from triage.store import Store
from triage.store.outbox import due
from triage.store.types import utcnow


@pytest.fixture
def database(tmp_path: Path) -> str:
    return migrated(tmp_path / "triage.db")


@pytest.fixture
def client(trained_bundle: Path, database: str) -> Iterator[TestClient]:
    with recording_client(trained_bundle, record=True, database_url=database, webhook_url="https://hooks.test/x") as c:
        yield c


def triaged(client: TestClient, ticket_id: str, text: str = "VPN keeps disconnecting since this morning") -> dict:
    answer = client.post("/v1/triage", json={"id": ticket_id, "subject": text})
    assert answer.status_code == 200 and answer.json()["recorded"]
    return answer.json()


def test_the_stored_ticket_shows_its_decision_and_review_state(client: TestClient) -> None:
    answer = triaged(client, "INC1")
    stored = client.get("/v1/tickets/INC1").json()
    assert stored["id"] == "INC1" and stored["text_purged"] is False and "subject" not in stored
    assert {k: stored["decision"][k] for k in ("outcome", "heads", "model_version")} == {
        k: answer[k] for k in ("outcome", "heads", "model_version")
    }
    expected = "auto_routed" if answer["outcome"] == "auto_route" else "awaiting_review"
    assert stored["review_state"] == {
        "status": expected,
        "version": 1,
        "claimed_by": None,
        "claimed_until": None,
        "reviewed_by": None,
        "reviewed_at": None,
    }
    assert stored["review"] is None and stored["outcome"] is None
    missing = client.get("/v1/tickets/NOPE")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_a_review_accepted_then_corrected(client: TestClient, database: str) -> None:
    answer = triaged(client, "INC2")
    accepted = client.post("/v1/tickets/INC2/review", json={"agent": "ann", "version": 1})
    assert accepted.status_code == 200
    body = accepted.json()
    assert body["review_state"]["status"] == "reviewed" and body["review_state"]["version"] == 2
    assert body["review"]["provenance"] == "accepted" and body["review"]["source"] == "api"
    assert body["review"]["labels"] == {h: answer["heads"][h]["label"] for h in ("category", "priority", "tier")}
    corrected = client.post(
        "/v1/tickets/INC2/review", json={"agent": "bob", "labels": {"priority": "P9"}, "version": 2}
    )
    assert corrected.json()["review"]["provenance"] == "corrected"
    assert (
        corrected.json()["review"]["changed"] == ["priority"]
        and corrected.json()["review"]["labels"]["priority"] == "P9"
    )
    store = Store.from_url(database)
    # TRIAGE_WEBHOOK_URL is set (to a host that does not resolve): one delivery per review, written with it;
    # the service's own delivery loop may already have tried one and put it off by its backoff, hence a day on
    deliveries = due(store, now=utcnow() + timedelta(days=1))
    store.dispose()
    assert [(d.ticket_id, d.payload["provenance"]) for d in deliveries] == [("INC2", "accepted"), ("INC2", "corrected")]


def test_a_stale_review_is_refused_with_who_and_when(client: TestClient) -> None:
    triaged(client, "INC3")
    first = client.post(
        "/v1/tickets/INC3/review", json={"agent": "ann", "labels": {"category": "printer"}, "version": 1}
    )
    reviewed_at = first.json()["review_state"]["reviewed_at"]
    stale = client.post("/v1/tickets/INC3/review", json={"agent": "bob", "labels": {"category": "vpn"}, "version": 1})
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["code"] == "review_conflict" and "reviewed by ann at" in error["message"]
    assert reviewed_at[:19] in error["message"] and error["details"][0]["field"] == "version"
    assert client.get("/v1/tickets/INC3").json()["review"]["labels"]["category"] == "printer"  # not overwritten
    unversioned = client.post("/v1/tickets/INC3/review", json={"agent": "carl", "not_a_ticket": True})
    assert unversioned.status_code == 200 and unversioned.json()["review"]["provenance"] == "not_a_ticket"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"agent": "ann", "labels": {"colour": "red"}}, 422, "validation_error"),
        ({"agent": "ann", "labels": {"category": "vpn"}, "not_a_ticket": True}, 422, "validation_error"),
        ({"agent": " "}, 422, "validation_error"),
        ({"labels": {}}, 422, "validation_error"),
        ({"agent": "ann", "version": 0}, 422, "validation_error"),
        ({"agent": "ann", "not_a_ticket": 0}, 422, "validation_error"),  # 0 is not false
    ],
)
def test_invalid_reviews(client: TestClient, body: dict, status: int, code: str) -> None:
    triaged(client, "INC4")
    response = client.post("/v1/tickets/INC4/review", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert client.get("/v1/tickets/INC4").json()["review"] is None


def test_review_of_an_unknown_ticket_bad_json_and_media_type(client: TestClient) -> None:
    assert client.post("/v1/tickets/NOPE/review", json={"agent": "ann"}).status_code == 404
    triaged(client, "INC5")
    raw = client.post("/v1/tickets/INC5/review", content=b"{", headers={"Content-Type": "application/json"})
    assert (raw.status_code, raw.json()["error"]["code"]) == (400, "invalid_json")
    text = client.post("/v1/tickets/INC5/review", content=b"agent=ann", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    assert client.get("/v1/tickets/" + "x" * 201).status_code == 422


def test_the_routes_need_a_client_key(client: TestClient) -> None:
    triaged(client, "INC6")
    assert client.get("/v1/tickets/INC6", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.post("/v1/tickets/INC6/review", json={"agent": "a"}, headers={"X-API-Key": ""}).status_code == 401


def test_the_document_lists_the_ticket_routes_with_the_error_model(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    get_statuses = set(paths["/v1/tickets/{ticket_id}"]["get"]["responses"])
    post_statuses = set(paths["/v1/tickets/{ticket_id}/review"]["post"]["responses"])
    assert get_statuses == {"200", "401", "404", "422", "503"}
    assert post_statuses == {"200", "400", "401", "404", "409", "413", "415", "422", "503"}
    for status in post_statuses - {"200"}:
        schema = paths["/v1/tickets/{ticket_id}/review"]["post"]["responses"][status]["content"]["application/json"]
        assert schema["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "review_conflict" in paths["/v1/tickets/{ticket_id}/review"]["post"]["responses"]["409"]["description"]
