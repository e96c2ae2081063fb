"""`triage serve --model models:/NAME@champion`: the bundle is resolved, downloaded under the models root and
verified; POST /v1/admin/reload re-resolves the alias and picks up a new champion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import ADMIN_KEY, KEY, make_settings
from triage.api.main import create_app
from triage.cli import app
from triage.cli import commands as _commands  # noqa: F401  (registers the commands)
from triage.errors import RegistryError
from triage.registry import get_version, register_bundle, set_champion
from triage.settings import get_settings

runner = CliRunner()


def _version(bundle: Path) -> str:
    return json.loads((bundle / "manifest.json").read_text())["model_version"]


def test_reload_picks_up_a_new_champion(registry: str, trained_bundle: Path, weak_bundle: Path, tmp_path: Path) -> None:
    register_bundle(trained_bundle, registry)
    set_champion(registry, get_version(registry, "1"), how="first champion")
    models = tmp_path / "models"
    settings = make_settings(Path(f"models:/{registry}@champion"), models_root=models)
    with TestClient(create_app(settings)) as service:
        service.headers["X-API-Key"] = KEY
        assert service.get("/v1/model").json()["model_version"] == _version(trained_bundle)
        cached = models / ".registry" / registry / "1"
        assert (cached / "manifest.json").is_file()
        answer = service.post("/v1/triage", json={"subject": "printer jam", "body": "paper stuck on floor 2"})
        assert answer.status_code == 200 and answer.json()["model_version"] == _version(trained_bundle)

        register_bundle(weak_bundle, registry)
        set_champion(registry, get_version(registry, "2"), how="forced")
        service.headers["X-API-Key"] = ADMIN_KEY
        reloaded = service.post("/v1/admin/reload")
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["model_version"] == _version(weak_bundle)
        assert reloaded.json()["path"] == str(models / ".registry" / registry / "2")

        # a cached bundle changed on disk is not loaded: the version is downloaded and verified again
        tampered = models / ".registry" / registry / "2" / "README.md"
        tampered.write_text("changed")
        again = service.post("/v1/admin/reload", json={"model_dir": f"models:/{registry}/2"})
        assert again.status_code == 200 and tampered.read_text() != "changed"

        missing = service.post("/v1/admin/reload", json={"model_dir": f"models:/{registry}@nobody"})
        assert missing.status_code == 409 and "no alias 'nobody'" in missing.json()["error"]["message"]
        service.headers["X-API-Key"] = KEY
        assert service.get("/v1/model").json()["model_version"] == _version(weak_bundle)  # still serving


def test_a_version_signed_by_an_untrusted_key_is_not_served(
    registry: str, trained_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from triage.models.signing import public_key_text

    register_bundle(trained_bundle, registry)
    other = public_key_text(Ed25519PrivateKey.generate().public_key())
    monkeypatch.setenv("TRIAGE_TRUSTED_KEYS", json.dumps([other]))
    get_settings.cache_clear()
    settings = make_settings(Path(f"models:/{registry}/1"), models_root=tmp_path / "models")
    with TestClient(create_app(settings)) as service:
        assert service.get("/readyz").status_code == 503
    assert not (tmp_path / "models" / ".registry" / registry / "1").exists()  # never landed in the cache


def test_serve_fails_fast_on_an_alias_that_does_not_exist(
    registry: str, trained_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `serve` sets these for its workers: recorded here, so that they are undone after the test
    monkeypatch.setenv("TRIAGE_MODEL_DIR", str(trained_bundle))
    monkeypatch.setenv("TRIAGE_AUTH", "on")
    register_bundle(trained_bundle, registry)
    result = runner.invoke(app, ["serve", "--model", f"models:/{registry}@champion", "--no-auth", "--workers", "1"])
    assert isinstance(result.exception, RegistryError)
    assert "has no alias 'champion'" in str(result.exception) and "triage promote" in str(result.exception)
    bad = runner.invoke(app, ["serve", "--model", "models:/a/b/c", "--no-auth", "--workers", "1"])
    assert "models:/NAME@ALIAS" in str(bad.exception)
