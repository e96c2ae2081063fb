import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ({"body": "x", "priority_hint": 1}, "priority_hint", "Extra inputs are not permitted"),
        ({"subject": ["a"]}, "subject", "valid string"),
        ({"subject": "", "body": "  "}, "(request body)", "both empty"),
        ({"subject": "x", "created_at": "not a date"}, "created_at", "datetime"),
        ({"subject": "x", "metadata": "flat"}, "metadata", "dictionary"),
        ([1, 2], "(request body)", "dictionary"),
    ],
)
def test_bad_fields_get_422_naming_the_field(client: TestClient, payload: object, field: str, problem: str) -> None:
    response = client.post("/v1/triage", json=payload)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert any(d["field"] == field and problem in d["problem"] for d in details), details


def test_malformed_json_is_422_not_500(client: TestClient) -> None:
    response = client.post("/v1/triage", content=b'{"subject": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_json"


def test_text_that_is_only_markup_is_422(client: TestClient) -> None:
    response = client.post("/v1/triage", json={"body": "<p>&nbsp;</p>"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body"


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/v1/triage", json={"subject": "x", "body": "y" * 30_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_unknown_route_and_wrong_method_are_json_errors(client: TestClient) -> None:
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"
    assert client.get("/v1/triage").status_code == 405


def test_wrong_content_and_garbage_never_give_500(client: TestClient) -> None:
    for body in (b"\xff\xfe\x00", b"null", b"[]", b'"text"', b"{}" * 100, b'{"tickets": null}'):
        for path in ("/v1/triage", "/v1/triage/batch", "/v1/admin/reload"):
            response = client.post(path, content=body, headers={"content-type": "application/json"})
            assert response.status_code < 500, (path, body, response.text)
