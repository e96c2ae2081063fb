from fastapi.testclient import TestClient

from tests.conftest import PRECISION_TARGETS

TICKET = {"id": "INC1", "subject": "VPN keeps dropping", "body": "the vpn disconnects every few minutes"}


def test_one_ticket_gets_suggestions_per_head_and_a_decision(client: TestClient) -> None:
    response = client.post("/v1/triage", json={**TICKET, "channel": "email", "metadata": {"site": "Berlin"}})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "INC1" and body["model_version"] and body["truncated"] is False
    assert set(body["heads"]) == {"category", "priority", "tier"}
    category = body["heads"]["category"]
    assert category["label"] == "vpn"
    assert 0 <= category["confidence"] <= 1 and len(category["alternatives"]) == 3
    assert category["confidence"] >= max(a["confidence"] for a in category["alternatives"])
    assert category["confident"] == (category["confidence"] >= category["threshold"])
    for suggestion in body["heads"].values():  # the conformal set always holds the suggested label
        assert suggestion["label"] in suggestion["prediction_set"]
        known = {suggestion["label"]} | {a["label"] for a in suggestion["alternatives"]}
        assert set(suggestion["prediction_set"]) <= known or len(suggestion["prediction_set"]) > 4
    unconfident = [h for h, s in body["heads"].items() if not s["confident"]]
    unfamiliar = [r for r in body["reasons"] if r["code"] == "unfamiliar"]
    assert body["outcome"] == ("needs_review" if unconfident or unfamiliar else "auto_route")
    assert sorted(r["head"] for r in body["reasons"] if r["code"] == "low_confidence") == sorted(unconfident)


def test_batch_answers_in_order_and_a_bad_ticket_fails_alone(client: TestClient) -> None:
    tickets = [
        TICKET,
        {"subject": ""},
        {"subject": "printer jam", "bogus": 1},
        {"body": 42},
        {"subject": "paper jam"},
    ]
    response = client.post("/v1/triage/batch", json={"tickets": tickets})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["ok"] for r in results] == [True, False, False, False, True]
    assert results[0]["result"]["id"] == "INC1"
    assert results[2]["error"]["details"][0]["field"] == "bogus"
    assert results[3]["error"]["details"][0]["field"] == "body"
    assert results[4]["result"]["heads"]["category"]["label"] == "printer"


def test_batch_over_the_limit_is_413(client: TestClient) -> None:
    response = client.post("/v1/triage/batch", json={"tickets": [TICKET] * 6})
    assert response.status_code == 413
    assert "limit is 5" in response.json()["error"]["message"]


def test_long_text_is_truncated_and_flagged(client: TestClient) -> None:
    response = client.post("/v1/triage", json={"subject": "printer jam", "body": "paper " * 200})
    assert response.status_code == 200 and response.json()["truncated"] is True


def test_model_endpoint_describes_the_served_bundle(client: TestClient) -> None:
    body = client.get("/v1/model").json()
    assert set(body["heads"]) == {"category", "priority", "tier"}
    assert body["heads"]["tier"]["labels"] == ["L1", "L2", "L3"]
    assert body["heads"]["category"]["precision_target"] == PRECISION_TARGETS["category"]
    assert body["heads"]["category"]["threshold"] is None or 0 < body["heads"]["category"]["threshold"] < 1
    class_thresholds = body["heads"]["tier"]["class_thresholds"]
    assert set(class_thresholds) == {"L1", "L2", "L3"}
    assert all(t is None or 0 <= t < 1 for t in class_thresholds.values())
    assert body["metrics"]["category"]["accuracy"] > 0


def test_openapi_documents_the_routes_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/triage", "/v1/triage/batch", "/v1/model", "/v1/admin/reload"} <= set(schema["paths"])
    assert schema["components"]["schemas"]["TicketIn"]["examples"][0]["subject"]


def test_a_ticket_unlike_any_training_ticket_is_deferred_as_unfamiliar(client: TestClient) -> None:
    body = client.post("/v1/triage", json={"subject": "Quarterly zeppelin hangar lease", "body": "Wie geht's?"}).json()
    assert body["outcome"] == "needs_review"
    assert "unfamiliar" in [r["code"] for r in body["reasons"]]
    assert body["heads"]["category"]["label"]  # suggestions are still given
