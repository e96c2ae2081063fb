from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.api.conftest import ADMIN_KEY, KEY, make_settings
from triage.api.main import create_app
from triage.errors import ConfigError

CLIENT_ROUTES = (("post", "/v1/triage"), ("post", "/v1/triage/batch"), ("get", "/v1/model"))


def test_every_v1_route_needs_a_valid_key(trained_bundle: Path) -> None:
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        for method, path in (*CLIENT_ROUTES, ("post", "/v1/admin/reload")):
            for headers in ({}, {"X-API-Key": "wrong"}):
                response = getattr(client, method)(path, headers=headers)
                assert response.status_code == 401, (path, headers)
                assert response.json()["error"]["code"] == "unauthorized"
                assert response.headers["WWW-Authenticate"] == "ApiKey"
        assert client.get("/v1/model", headers={"X-API-Key": "other-key"}).status_code == 200
        assert client.get("/v1/model", headers={"X-API-Key": ADMIN_KEY}).status_code == 200  # admins may triage
        assert client.get("/healthz").status_code == 200  # open by default
        assert client.get("/metrics").status_code == 200


def test_a_client_key_cannot_reload_and_loads_nothing(trained_bundle: Path, tmp_path: Path) -> None:
    """The key ticketing systems hold must not swap the model (issue 10, section 1)."""
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        version = client.get("/readyz").json()["model_version"]
        response = client.post("/v1/admin/reload", headers={"X-API-Key": KEY}, json={"model_dir": str(tmp_path)})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        assert "TRIAGE_ADMIN_KEYS" in response.json()["error"]["message"]
        assert 'triage_model_reloads_total{result="failed"}' not in client.get("/metrics").text
        assert client.get("/readyz").json()["model_version"] == version


def test_without_admin_keys_the_admin_routes_are_off(trained_bundle: Path) -> None:
    with TestClient(create_app(make_settings(trained_bundle, admin_keys=[]))) as client:
        for key in (KEY, ADMIN_KEY, "anything"):
            response = client.post("/v1/admin/reload", headers={"X-API-Key": key})
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "admin_disabled"
            assert "no TRIAGE_ADMIN_KEYS" in response.json()["error"]["message"]


def test_health_and_metrics_can_require_the_key(trained_bundle: Path) -> None:
    settings = make_settings(trained_bundle, auth_health=True, auth_metrics=True)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/readyz", headers={"X-API-Key": KEY}).status_code == 200


@pytest.mark.parametrize("keys", [[], None])
def test_no_keys_no_app(trained_bundle: Path, keys: list[SecretStr] | None) -> None:
    """No keys used to mean an open service with a warning (issue 10, section 3)."""
    with pytest.raises(ConfigError, match=r"no API keys.*--no-auth"):
        create_app(make_settings(trained_bundle, api_keys=keys))


def test_auth_off_is_explicit_and_opens_every_route(trained_bundle: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(trained_bundle, api_keys=[], admin_keys=[], auth="off")
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200
        assert client.get("/v1/model").status_code == 200
        assert client.post("/v1/admin/reload").status_code == 200
        assert "security" not in client.get("/openapi.json").json()["paths"]["/v1/triage"]["post"]
    assert any("authentication is OFF" in r.getMessage() for r in caplog.records)
