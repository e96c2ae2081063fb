import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import KEY, make_settings
from triage.api.main import create_app


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
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


def test_without_a_model_the_service_says_why_with_503(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path / "absent"))) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "not a model bundle" in response.json()["error"]["message"]
        assert client.post("/v1/triage", json={"subject": "x"}, headers={"X-API-Key": KEY}).status_code == 503


def test_reload_swaps_a_good_bundle_and_keeps_serving_on_a_bad_one(trained_bundle: Path, tmp_path: Path) -> None:
    good = Path(shutil.copytree(trained_bundle, tmp_path / "good"))
    bad = Path(shutil.copytree(trained_bundle, tmp_path / "bad"))
    (bad / "heads" / "category.joblib").write_bytes(b"tampered")
    with TestClient(create_app(make_settings(trained_bundle))) as client:
        client.headers["X-API-Key"] = KEY
        response = client.post("/v1/admin/reload", json={"model_dir": str(good)})
        assert response.status_code == 200 and response.json()["path"] == str(good)
        refused = client.post("/v1/admin/reload", json={"model_dir": str(bad)})
        assert refused.status_code == 409
        assert "checksum mismatch" in refused.json()["error"]["message"]
        assert client.get("/v1/model").json()["path"] == str(good)  # the old model still serves
        assert client.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200
        assert client.get("/readyz").status_code == 200
        metrics = client.get("/metrics").text
        assert 'triage_model_reloads_total{result="failed"} 1.0' in metrics
