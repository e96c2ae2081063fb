from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import KEY, make_settings
from triage.api.main import create_app


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {"status": "ready", "model_version": ready["model_version"]}
    client.post("/v1/triage", json={"subject": "printer jam"})
    text = client.get("/metrics").text
    assert f'triage_model_info{{version="{ready["model_version"]}"}} 1.0' in text
    assert 'triage_request_duration_seconds_count{method="POST",route="/v1/triage",status="200"} 1.0' in text
    assert 'triage_head_decisions_total{head="category"' in text
    assert "triage_decisions_total{outcome=" in text
    stranger = client.post("/v1/triage", json={"subject": "zxqv wplk 9981 qqqq"}).json()
    codes = {(r["code"], r["head"] or "") for r in stranger["reasons"]}
    assert codes  # an unreadable ticket is never auto-routed
    text = client.get("/metrics").text
    for code, head in codes:
        assert f'triage_review_reasons_total{{code="{code}",head="{head}"}}' in text


def test_without_a_model_the_service_says_so_with_503_and_no_paths(tmp_path: Path) -> None:
    """/readyz needs no key: it must not show where the bundle lives (issue 10, section 4)."""
    absent = tmp_path / "secret-location" / "absent"
    with TestClient(create_app(make_settings(absent))) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503 and response.headers["Retry-After"]
        error = response.json()["error"]
        assert error["code"] == "model_not_ready" and "the last load failed" in error["message"]
        assert "secret-location" not in response.text and str(tmp_path) not in response.text
        refused = client.post("/v1/triage", json={"subject": "x"}, headers={"X-API-Key": KEY})
        assert refused.status_code == 503 and "secret-location" not in refused.text


def test_the_model_route_tells_clients_no_server_path(client: TestClient, trained_bundle: Path) -> None:
    body = client.get("/v1/model")
    assert body.status_code == 200 and "path" not in body.json()
    assert str(trained_bundle) not in body.text
