from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import KEY, make_settings
from triage.api.main import create_app


def test_every_v1_route_needs_a_valid_key(trained_bundle: Path) -> None:
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        for method, path in (
            ("post", "/v1/triage"),
            ("post", "/v1/triage/batch"),
            ("get", "/v1/model"),
            ("post", "/v1/admin/reload"),
        ):
            for headers in ({}, {"X-API-Key": "wrong"}):
                response = getattr(client, method)(path, headers=headers)
                assert response.status_code == 401, (path, headers)
                assert response.json()["error"]["code"] == "unauthorized"
        assert client.get("/v1/model", headers={"X-API-Key": "other-key"}).status_code == 200
        assert client.get("/healthz").status_code == 200  # open by default
        assert client.get("/metrics").status_code == 200


def test_health_and_metrics_can_require_the_key(trained_bundle: Path) -> None:
    settings = make_settings(trained_bundle, auth_health=True, auth_metrics=True)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/readyz", headers={"X-API-Key": KEY}).status_code == 200
