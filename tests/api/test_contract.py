"""The API contract, tried from outside: Schemathesis generates requests from the OpenAPI document (valid
and invalid ones) against the ASGI app, with a client key and an admin key, and every check it has must
pass: no 5xx, no status the document does not list, every answer matching its documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.python import asgi

from tests.api.conftest import ADMIN_KEY, KEY, make_settings
from triage.api.main import create_app

MIN_CASES = 1_000
CASES: list[str] = []
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261126,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {"mode": "all", "max-examples": 300, "database": "none"},
        # 413 is how the service rejects a batch over TRIAGE_MAX_BATCH (`maxItems`): documented, and a rejection.
        "checks": {
            "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]}
        },
        "auth": {"openapi": {"ApiKey": {"api_key": KEY}, "AdminKey": {"api_key": ADMIN_KEY}}},
        "operations": [{"include-path": "/v1/admin/reload", "generation": {"max-examples": 60}}],
    }
)


# Built at import, for the parametrisation; the fixture points it at the test bundle before its first request
# (the lifespan, which loads the model, starts with that request).
APP = create_app(make_settings(Path("models", "not-trained-yet"), max_batch=16, max_request_bytes=2_000_000))
schema = schemathesis.openapi.from_dict(APP.openapi(), config=CONFIG)
schema.app = APP


@pytest.fixture(scope="module")
def contract_app(trained_bundle: Path) -> Iterator[FastAPI]:
    APP.state.settings.model_dir = trained_bundle
    APP.state.settings.models_root = trained_bundle.parent
    yield APP
    asgi.shutdown_lifespans()


@schema.parametrize()
def test_every_answer_matches_the_contract(case: schemathesis.Case, contract_app: FastAPI) -> None:
    CASES.append(case.operation.label)
    case.call_and_validate(base_url="http://testserver")


def test_the_run_tried_enough_cases() -> None:
    """Runs after the generated cases (pytest keeps file order)."""
    if not CASES:
        pytest.skip("the generated cases did not run in this session")
    counts = {label: CASES.count(label) for label in set(CASES)}
    print(counts)
    assert len(CASES) >= MIN_CASES, counts


ERROR_STATUSES = {
    ("/v1/triage", "post"): {400, 401, 413, 415, 422, 503},
    ("/v1/triage/batch", "post"): {400, 401, 413, 415, 422, 503},
    ("/v1/model", "get"): {401, 503},
    ("/v1/tickets/{ticket_id}", "get"): {401, 404, 422, 503},
    ("/v1/tickets/{ticket_id}/review", "post"): {400, 401, 404, 409, 413, 415, 422, 503},
    ("/v1/tickets/{ticket_id}/outcome", "post"): {400, 401, 404, 413, 415, 422, 503},
    ("/v1/outcomes", "post"): {400, 401, 404, 413, 415, 422, 503},
    ("/v1/outcomes/{system}", "post"): {400, 401, 404, 413, 415, 422, 503},
    ("/v1/admin/reload", "post"): {400, 401, 403, 409, 413, 415, 422, 503},
    ("/healthz", "get"): {503},
    ("/readyz", "get"): {503},
    ("/metrics", "get"): {503},
}


def test_the_document_lists_every_error_status_with_the_real_error_body() -> None:
    """It used to list 200 and 422 only, with FastAPI's `{"detail": ...}` as the 422 body."""
    document = APP.openapi()
    assert {(path, method) for path, item in document["paths"].items() for method in item} == set(ERROR_STATUSES)
    for (path, method), statuses in ERROR_STATUSES.items():
        responses = document["paths"][path][method]["responses"]
        assert set(responses) == {"200", *map(str, statuses)}, (path, method)
        for status in statuses:
            schema = responses[str(status)]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
        assert "Retry-After" in responses["503"]["headers"]
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ErrorBody"]["required"] == ["code", "message"]


def test_the_request_schemas_say_what_is_accepted() -> None:
    document = APP.openapi()
    schemas = document["components"]["schemas"]
    body = document["paths"]["/v1/triage"]["post"]["requestBody"]
    assert body["required"] and body["content"]["application/json"]["schema"]["$ref"].endswith("/TicketIn")
    ticket = schemas["TicketIn"]
    assert ticket["additionalProperties"] is False
    assert ticket["anyOf"] == [
        {"required": ["subject"], "properties": {"subject": {"pattern": r"\S"}}},
        {"required": ["body"], "properties": {"body": {"pattern": r"\S"}}},
    ]
    assert {"type": "string", "format": "date-time"}.items() <= ticket["properties"]["created_at"]["anyOf"][0].items()
    assert schemas["BatchRequest"]["properties"]["tickets"]["maxItems"] == 16  # TRIAGE_MAX_BATCH
    reload_body = document["paths"]["/v1/admin/reload"]["post"]["requestBody"]
    assert reload_body["required"] is False
    assert "pattern" in schemas["ReloadRequest"]["properties"]["model_dir"]["anyOf"][0]
    security = {name: scheme["description"] for name, scheme in document["components"]["securitySchemes"].items()}
    assert security == {"ApiKey": "One of TRIAGE_API_KEYS.", "AdminKey": "One of TRIAGE_ADMIN_KEYS."}
    assert document["paths"]["/v1/admin/reload"]["post"]["security"] == [{"AdminKey": []}]
