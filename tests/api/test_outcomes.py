"""Outcomes through the API: triage's JSON, batches, and ServiceNow, Zendesk and Jira webhook bodies as they
come; idempotent, the later one wins, unknown labels kept and flagged, bad bodies a 422 naming the field, the
README's curl examples answered as written, and generated requests never a 5xx."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.python import asgi

from tests.api.conftest import KEY, make_settings
from tests.api.test_recording import migrated, recording_client
from tests.conftest import ROOT
from triage.api.main import create_app
from triage.store import LabelProvenance, Store, final_labels, get_ticket
from triage.store.audit import audit_entries

VPN = "VPN keeps disconnecting since this morning when I work from home"


@pytest.fixture
def database(tmp_path: Path) -> str:
    return migrated(tmp_path / "triage.db")


@pytest.fixture
def client(trained_bundle: Path, database: str) -> Iterator[TestClient]:
    with recording_client(trained_bundle, record=True, database_url=database) as c:
        yield c


def _store(database: str) -> Store:
    return Store.from_url(database)


def _triaged(client: TestClient, ticket_id: str, text: str = VPN) -> dict:
    answer = client.post("/v1/triage", json={"id": ticket_id, "subject": text})
    assert answer.status_code == 200 and answer.json()["recorded"]
    return answer.json()


def test_an_outcome_is_stored_idempotently_and_the_later_one_wins(client: TestClient, database: str) -> None:
    suggested = _triaged(client, "INC1")["heads"]
    other = "printer" if suggested["category"]["label"] != "printer" else "email"
    body = {"labels": {"category": other, "priority": "P1"}, "resolved_at": "2026-11-24T16:40:00Z"}
    first = client.post("/v1/tickets/INC1/outcome", json=body)
    assert first.status_code == 200, first.text
    result = first.json()
    assert (result["status"], result["new_ticket"], result["source"]) == ("created", False, "api")
    assert result["labels"] == {"category": other, "priority": "P1", "tier": None}
    assert "category" in result["disagrees_with_suggestion"] and result["disagrees_with_review"] == []
    assert result["unknown_labels"] == {}
    assert client.post("/v1/tickets/INC1/outcome", json=body).json()["status"] == "unchanged"
    later = {"labels": {"category": "vpn"}, "resolved_at": "2026-11-25T08:00:00+01:00", "source": "freshservice"}
    assert client.post("/v1/tickets/INC1/outcome", json=later).json()["status"] == "updated"
    stale = client.post("/v1/tickets/INC1/outcome", json=body).json()
    assert stale["status"] == "superseded" and stale["labels"]["category"] == "vpn"
    assert stale["resolved_at"].startswith("2026-11-25T07:00:00")
    store = _store(database)
    [labelled] = list(final_labels(store))
    assert labelled.provenance is LabelProvenance.OUTCOME and labelled.labels["category"] == "vpn"
    actors = [e.actor for e in audit_entries(store, ticket_id="INC1") if e.action == "outcome"]
    store.dispose()
    assert actors == ["freshservice", "api"]


def test_the_stored_ticket_shows_its_outcome_and_is_resolved(client: TestClient) -> None:
    # a ticket the desk would review: sent without text, it is deferred whatever the model says
    answer = client.post("/v1/triage", json={"id": "INC7", "subject": "<p></p>"})
    assert answer.json()["outcome"] == "needs_review" and answer.json()["recorded"]
    before = client.get("/v1/tickets/INC7").json()
    assert before["review_state"]["status"] == "awaiting_review" and before["outcome"] is None
    body = {"labels": {"category": "printer", "tier": "L2"}, "resolved_at": "2026-11-24T16:40:00Z", "source": "jira"}
    assert client.post("/v1/tickets/INC7/outcome", json=body).status_code == 200
    stored = client.get("/v1/tickets/INC7").json()
    assert stored["review_state"]["status"] == "resolved" and stored["review_state"]["version"] == 2
    outcome = stored["outcome"]
    assert (outcome["source"], outcome["labels"]) == ("jira", {"category": "printer", "priority": None, "tier": "L2"})
    assert outcome["resolved_at"].startswith("2026-11-24T16:40:00") and outcome["disagrees"] == []
    # a review sent with the version read before the outcome is refused, naming it; nothing is changed
    stale = client.post("/v1/tickets/INC7/review", json={"agent": "ann", "version": 1})
    assert stale.status_code == 409, stale.text
    assert "resolved in the ticketing system (outcome from jira" in stale.json()["error"]["message"]
    assert client.get("/v1/tickets/INC7").json()["review"] is None
    # a ticket known only from its outcome is resolved too, with no decision
    assert client.post("/v1/tickets/SN-1/outcome", json={"labels": {"priority": "P2"}}).status_code == 200
    only = client.get("/v1/tickets/SN-1").json()
    assert only["decision"] is None and only["review_state"]["status"] == "resolved"
    assert only["outcome"]["source"] == "api" and only["outcome"]["labels"]["priority"] == "P2"


def test_unknown_labels_are_kept_and_flagged(client: TestClient, database: str) -> None:
    body = {"labels": {"category": "quantum_computing", "priority": "P2"}, "subject": "Qubits decohere", "body": "x"}
    result = client.post("/v1/tickets/NEW-1/outcome", json=body).json()
    assert result["status"] == "created" and result["new_ticket"] is True
    assert result["unknown_labels"] == {"category": "quantum_computing"}  # P2 is known
    assert result["model_version"] == client.get("/v1/model").json()["model_version"]
    store = _store(database)
    ticket = get_ticket(store, "NEW-1")
    store.dispose()
    assert ticket.decision is None and (ticket.subject, ticket.body) == ("Qubits decohere", "x")


def test_a_batch_stores_the_valid_outcomes_and_names_the_faults_of_the_others(client: TestClient) -> None:
    _triaged(client, "B1")
    outcomes = [
        {"ticket_id": "B1", "labels": {"tier": "L3"}},
        {"ticket_id": "B2", "labels": {}},
        {"ticket_id": "B3", "labels": {"category": "vpn"}, "resolved_at": 1700000000},
        {"labels": {"category": "vpn"}},
        {"ticket_id": "B4", "labels": {"category": "vpn"}, "colour": "red"},
    ]
    answer = client.post("/v1/outcomes", json={"outcomes": outcomes})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["ok"] for r in results] == [True, False, False, False, False]
    assert results[0]["result"]["status"] == "created"
    fields = [[d["field"] for d in r["error"]["details"]] for r in results[1:]]
    assert fields == [["labels"], ["resolved_at"], ["ticket_id"], ["colour"]]
    too_many = {"outcomes": [{"ticket_id": f"T{i}", "labels": {"tier": "L1"}} for i in range(6)]}  # limit 5
    refused = client.post("/v1/outcomes", json=too_many)
    assert (refused.status_code, refused.json()["error"]["code"]) == (413, "payload_too_large")


SERVICENOW = {
    "number": "INC0010001",
    "short_description": "VPN drops",
    "description": "<p>Since this morning the VPN drops.</p>",
    "category": "network",
    "subcategory": "vpn",
    "priority": "P2",
    "assignment_group": "L2",
    "state": "6",
    "resolved_at": "2026-11-24 16:40:00",
}


def test_a_servicenow_business_rule_body(client: TestClient, database: str) -> None:
    answer = client.post("/v1/outcomes/servicenow", json=SERVICENOW)
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["results"]
    result = item["result"]
    assert (result["ticket_id"], result["status"], result["source"]) == ("INC0010001", "created", "servicenow")
    # subcategory first (the preset's choice), the tier from the assignment group (no tier_map: as it is)
    assert result["labels"] == {"category": "vpn", "priority": "P2", "tier": "L2"}
    assert result["unknown_labels"] == {} and result["resolved_at"].startswith("2026-11-24T16:40:00")
    store = _store(database)
    ticket = get_ticket(store, "INC0010001")
    store.dispose()
    assert (ticket.subject, ticket.body) == ("VPN drops", "Since this morning the VPN drops.")  # cleaned
    # still open: answered, not stored
    still_open = client.post("/v1/outcomes/servicenow", json={**SERVICENOW, "number": "INC2", "state": "2"})
    [item] = still_open.json()["results"]
    assert item["result"]["status"] == "not_resolved"
    assert client.get("/v1/tickets/INC2").status_code == 404
    # the Table API's form: {"result": [...]} with display values
    table = {
        "result": [
            {
                "number": {"display_value": "INC0010003", "value": "INC0010003"},
                "subcategory": {"display_value": "Email", "value": "email"},
                "priority": {"display_value": "P3", "value": "3"},
                "resolved_at": {"display_value": "24-11-2026 17:40:00", "value": "2026-11-24 16:40:00"},
            }
        ]
    }
    [item] = client.post("/v1/outcomes/servicenow", json=table).json()["results"]
    assert item["result"]["labels"] == {"category": "Email", "priority": "P3", "tier": None}
    assert item["result"]["unknown_labels"] == {"category": "Email"}  # the model knows "email"


def test_a_zendesk_webhook_body(client: TestClient) -> None:
    _triaged(client, "35436", "The printer on floor 3 jams on every page")
    body = {
        "ticket": {
            "id": 35436,
            "subject": "Printer jams",
            "priority": "High",
            "status": "Solved",
            "group": "L1",
            "category": "printer",
            "updated_at": "2026-11-24T16:40:00Z",
            "custom_fields": [{"id": 360012345678, "value": "floor-3"}],
        }
    }
    [item] = client.post("/v1/outcomes/zendesk", json=body).json()["results"]
    result = item["result"]
    assert (result["status"], result["new_ticket"]) == ("created", False)
    assert result["labels"] == {"category": "printer", "priority": "high", "tier": "L1"}  # "High": the API's code
    assert result["unknown_labels"] == {"priority": "high"}  # this model learnt P1..P4
    pending = {"ticket": {**body["ticket"], "status": "open"}}
    [item] = client.post("/v1/outcomes/zendesk", json=pending).json()["results"]
    assert item["result"]["status"] == "not_resolved"


JIRA = {
    "timestamp": 1795538400000,
    "webhookEvent": "jira:issue_updated",
    "issue": {
        "id": "10042",
        "key": "IT-42",
        "fields": {
            "summary": "Cannot reach the wiki over VPN",
            "description": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "It times out."}]}],
            },
            "priority": {"self": "https://x.atlassian.net/rest/api/2/priority/2", "name": "P2", "id": "2"},
            "components": [
                {"self": "https://x.atlassian.net/rest/api/2/component/1", "name": "vpn"},
                {"self": "https://x.atlassian.net/rest/api/2/component/2", "name": "network"},
            ],
            "resolution": {"self": "https://x.atlassian.net/rest/api/2/resolution/1", "name": "Done"},
            "resolutiondate": "2026-11-24T16:40:00.000+0000",
        },
    },
}


def test_a_jira_webhook_body(client: TestClient, database: str) -> None:
    [item] = client.post("/v1/outcomes/jira", json=JIRA).json()["results"]
    result = item["result"]
    assert (result["ticket_id"], result["status"], result["new_ticket"]) == ("IT-42", "created", True)
    assert result["labels"] == {"category": "vpn", "priority": "P2", "tier": None}  # the first component
    assert result["resolved_at"].startswith("2026-11-24T16:40:00")
    store = _store(database)
    ticket = get_ticket(store, "IT-42")
    store.dispose()
    assert (ticket.subject, ticket.body) == ("Cannot reach the wiki over VPN", "It times out.")
    unresolved = json.loads(json.dumps(JIRA))
    unresolved["issue"]["fields"].update(resolution=None, resolutiondate=None)
    [item] = client.post("/v1/outcomes/jira", json=unresolved).json()["results"]
    assert item["result"]["status"] == "not_resolved"


@pytest.mark.parametrize(
    ("system", "body", "field"),
    [
        ("jira", {"webhookEvent": "jira:issue_updated"}, "issue.fields"),
        ("jira", {"issue": {"key": "IT-1", "fields": {"summary": "x"}}}, "issue.fields"),
        ("servicenow", {"short_description": "x", "subcategory": "vpn"}, "number"),
        ("servicenow", {"number": "INC1", "resolved_at": "2026-11-24"}, "(request body)"),
        ("servicenow", {**SERVICENOW, "resolved_at": "yesterday"}, "resolved_at"),
        ("servicenow", {**SERVICENOW, "subcategory": "v" * 101}, "subcategory"),
        ("servicenow", {**SERVICENOW, "number": "I" * 201}, "number"),
        ("zendesk", {"ticket": {"id": 1, "priority": "high", "updated_at": "24/11/2026"}}, "ticket.updated_at"),
        ("zendesk", {"tickets": [{"id": 1, "priority": "low"}, "not a ticket"]}, "tickets.1"),
        ("zendesk", [], "(request body)"),
    ],
)
def test_a_bad_webhook_body_is_a_422_naming_the_field(
    client: TestClient, system: str, body: object, field: str
) -> None:
    answer = client.post(f"/v1/outcomes/{system}", json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error" and error["details"][0]["field"] == field


def test_bad_requests(client: TestClient) -> None:
    outcome = "/v1/tickets/X/outcome"
    assert client.post(outcome, content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post(outcome, content=b"a=b", headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.post(outcome, json={"labels": {"category": " "}}).status_code == 422
    assert client.post(outcome, json={"labels": {"severity": "high"}}).status_code == 422
    assert client.post("/v1/outcomes/freshdesk", json={}).status_code == 422  # not a system we read
    assert client.post("/v1/outcomes/jira", json="text").status_code == 422
    assert client.post(outcome, json={"labels": {"tier": "L1"}}, headers={"X-API-Key": "wrong"}).status_code == 401


def test_with_recording_off_no_outcome_can_be_stored(trained_bundle: Path) -> None:
    with recording_client(trained_bundle, record=False) as client:
        answer = client.post("/v1/tickets/X/outcome", json={"labels": {"tier": "L1"}})
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
        assert "TRIAGE_RECORD=off" in answer.json()["error"]["message"]


def _readme_curls() -> list[tuple[str, dict]]:
    """The README's outcome examples: (path, body) of each curl command that posts to an outcome route."""
    text = (ROOT / "README.md").read_text()
    found = []
    for command in re.findall(r"curl -s (http://127\.0\.0\.1:8000/v1/[^\s]*outcome.*?)\n```", text, re.S):
        words = shlex.split(command.replace("\\\n", " "))
        found.append((words[0].removeprefix("http://127.0.0.1:8000"), json.loads(words[words.index("-d") + 1])))
    return found


def test_the_readme_examples_work_as_written(client: TestClient) -> None:
    examples = _readme_curls()
    assert {path.rsplit("/", 1)[-1] for path, _ in examples} == {"outcome", "servicenow", "zendesk", "jira"}
    for path, body in examples:
        answer = client.post(path, json=body)
        assert answer.status_code == 200, (path, answer.text)
        results = answer.json().get("results", [{"result": answer.json()}])
        assert [r["result"]["status"] for r in results] == ["created"], path


# Generated requests against the outcome routes, with recording on (the contract test runs with it off).
APP = create_app(make_settings(Path("models", "not-trained-yet"), max_batch=8, max_request_bytes=200_000))
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261126,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {"mode": "all", "max-examples": 60, "database": "none"},
        "checks": {"negative_data_rejection": {"expected-statuses": [400, 401, 404, 413, 415, 422]}},
        "auth": {"openapi": {"ApiKey": {"api_key": KEY}}},
        # A webhook body is the ticketing system's own format: the document can say "a JSON object", not which
        # of the preset's fields it must hold, so a schema-valid `{}` is rightly a 422 naming the missing field.
        "operations": [
            {"include-path": "/v1/outcomes/{system}", "checks": {"positive_data_acceptance": {"enabled": False}}}
        ],
    }
)
DOCUMENT = APP.openapi()
OUTCOME_PATHS = {path: item for path, item in DOCUMENT["paths"].items() if "outcome" in path}
schema = schemathesis.openapi.from_dict({**DOCUMENT, "paths": OUTCOME_PATHS}, config=CONFIG)
schema.app = APP


@pytest.fixture(scope="module")
def generated_app(trained_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    APP.state.settings.model_dir = trained_bundle
    APP.state.settings.models_root = trained_bundle.parent
    APP.state.settings.record = True
    APP.state.settings.database_url = migrated(tmp_path_factory.mktemp("generated") / "triage.db")
    yield
    asgi.shutdown_lifespans()


@schema.parametrize()
def test_generated_outcome_requests_match_the_contract(case: schemathesis.Case, generated_app: None) -> None:
    case.call_and_validate(base_url="http://testserver")


def test_the_generated_requests_reached_the_store() -> None:
    """Runs after the generated cases (file order): some were valid outcomes, stored, not all refused."""
    if not APP.state.settings.record:
        pytest.skip("the generated cases did not run in this session")
    store = Store.from_url(APP.state.settings.database_url)
    try:
        stored = list(final_labels(store))
    finally:
        store.dispose()
    assert stored and {t.provenance for t in stored} == {LabelProvenance.OUTCOME}
