import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from triage.api import tickets


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ({"body": "x", "priority_hint": 1}, "priority_hint", "Extra inputs are not permitted"),
        ({"subject": ["a"]}, "subject", "valid string"),
        ({"subject": "", "body": "  "}, "(request body)", "both empty or blank"),
        ({"subject": "x", "created_at": "not a date"}, "created_at", "ISO-8601"),
        ({"subject": "x", "created_at": 1764150000}, "created_at", "as a string"),  # a number used to pass
        ({"subject": "x", "created_at": "1764150000"}, "created_at", "ISO-8601"),
        ({"subject": "x", "created_at": "2026-13-01T00:00:00Z"}, "created_at", "ISO-8601"),
        ({"subject": "x", "metadata": "flat"}, "metadata", "object"),
        ([1, 2], "(request body)", "object"),
    ],
)
def test_bad_fields_get_422_naming_the_field(client: TestClient, payload: object, field: str, problem: str) -> None:
    response = client.post("/v1/triage", json=payload)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    details = response.json()["error"]["details"]
    assert any(d["field"] == field and problem in d["problem"] for d in details), details


def test_an_iso_date_time_is_accepted(client: TestClient) -> None:
    for created in ("2026-11-23T09:15:00Z", "2026-11-23T09:15:00.123+01:00", "2026-11-23 09:15:00"):
        assert client.post("/v1/triage", json={"subject": "x", "created_at": created}).status_code == 200


@pytest.mark.parametrize("body", [b'{"subject": ', b"\xff\xfe\x00", b"", b"{'subject': 'x'}", b'{"subject": nan}'])
def test_a_body_that_is_not_json_is_400_invalid_json(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/triage", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json" and error["details"][0]["field"] == "(request body)"


def test_a_lone_surrogate_is_422_naming_the_field(client: TestClient) -> None:
    body = b'{"subject": "ok", "metadata": {"site": ["x", "\\ud800"]}}'
    response = client.post("/v1/triage", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "metadata.site.1"


def test_a_body_of_another_type_is_415(client: TestClient) -> None:
    response = client.post("/v1/triage", content=b"subject=x", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    typed = client.post("/v1/triage", content=b'{"subject": "x"}', headers={"content-type": "application/vnd.x+json"})
    assert typed.status_code == 200


def test_text_that_is_only_markup_is_answered_for_review(client: TestClient) -> None:
    """The schema accepts it (there is a non-blank character), so the service answers it: needs_review, no_text."""
    for ticket in ({"body": "<p>&nbsp;</p>"}, {"subject": "<br>", "body": "-- \nAnn"}):
        response = client.post("/v1/triage", json=ticket)
        assert response.status_code == 200
        body = response.json()
        assert body["outcome"] == "needs_review"
        assert body["reasons"][0]["code"] == "no_text" and body["reasons"][0]["head"] is None
        assert set(body["heads"]) == {"category", "priority", "tier"}  # suggestions keep their shape
    batch = client.post("/v1/triage/batch", json={"tickets": [{"body": "<p></p>"}, {"subject": "printer jam"}]})
    results = batch.json()["results"]
    assert [r["ok"] for r in results] == [True, True]
    assert results[0]["result"]["reasons"][0]["code"] == "no_text"
    assert "no_text" not in [r["code"] for r in results[1]["result"]["reasons"]]
    assert 'triage_review_reasons_total{code="no_text",head=""} 3.0' in client.get("/metrics").text


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/v1/triage", json={"subject": "x", "body": "y" * 30_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_an_oversized_body_without_content_length_is_413(client: TestClient) -> None:
    """A chunked upload declares no size: the limit is counted while reading."""

    def chunks() -> Iterator[bytes]:
        yield b'{"subject": "x", "body": "'
        for _ in range(30):
            yield b"y" * 1_000
        yield b'"}'

    response = client.post("/v1/triage", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    small = client.post("/v1/triage", content=iter([b'{"subject": ', b'"printer jam"}']))
    assert small.status_code == 200


def test_unknown_route_and_wrong_method_are_json_errors(client: TestClient) -> None:
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"
    wrong = client.get("/v1/triage")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"


def test_wrong_content_and_garbage_never_give_500(client: TestClient) -> None:
    for body in (b"\xff\xfe\x00", b"null", b"[]", b'"text"', b"{}" * 100, b'{"tickets": null}', b"[" * 10_000):
        for path in ("/v1/triage", "/v1/triage/batch", "/v1/admin/reload"):
            response = client.post(path, content=body, headers={"content-type": "application/json"})
            assert response.status_code < 500, (path, body[:20], response.text)
            assert set(response.json()) == {"error"}


def test_parsing_and_the_model_run_off_the_event_loop(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON parsing, validation, cleaning and the model share one worker-thread hop, never the event loop."""
    loops: list[bool] = []
    parse, decide = tickets.parse_body, tickets.decide

    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def parse_body(*args: object) -> object:
        loops.append(on_loop())
        return parse(*args)  # type: ignore[arg-type]

    def decide_(*args: object) -> object:
        loops.append(on_loop())
        return decide(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tickets, "parse_body", parse_body)
    monkeypatch.setattr(tickets, "decide", decide_)
    assert client.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200
    assert client.post("/v1/triage/batch", json={"tickets": [{"subject": "printer jam"}]}).status_code == 200
    assert loops == [False] * 4
