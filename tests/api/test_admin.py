"""POST /v1/admin/reload: only admins, only bundles inside TRIAGE_MODELS_ROOT, and a refused reload leaves
the old model serving (issue 10, sections 1 and 4)."""

from __future__ import annotations

import logging
import shutil
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN_KEY, make_settings
from triage.api import state as state_module
from triage.api.main import create_app
from triage.errors import BundleError


@pytest.fixture
def root(trained_bundle: Path, tmp_path: Path) -> Path:
    """A models root holding a copy of the test bundle as ``good``."""
    models = tmp_path / "models"
    shutil.copytree(trained_bundle, models / "good")
    return models


@pytest.fixture
def admin(root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(root / "good", models_root=root))) as c:
        c.headers["X-API-Key"] = ADMIN_KEY
        yield c


def _reloads(client: TestClient, result: str) -> str:
    line = f'triage_model_reloads_total{{result="{result}"}}'
    return next((x.split()[-1] for x in client.get("/metrics").text.splitlines() if x.startswith(line)), "0")


def test_reload_swaps_a_good_bundle_and_keeps_serving_on_a_bad_one(admin: TestClient, root: Path) -> None:
    other = Path(shutil.copytree(root / "good", root / "other"))
    bad = Path(shutil.copytree(root / "good", root / "bad"))
    (bad / "manifest.json").write_text((bad / "manifest.json").read_text().replace('"heads"', '"heads" ', 1))
    response = admin.post("/v1/admin/reload", json={"model_dir": str(other)})
    assert response.status_code == 200 and response.json()["path"] == str(other.resolve())
    refused = admin.post("/v1/admin/reload", json={"model_dir": str(bad)})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "bundle_rejected"
    assert admin.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200  # the old model serves
    assert admin.get("/readyz").status_code == 200
    assert _reloads(admin, "failed") == "1.0" and _reloads(admin, "ok") == "1.0"
    assert admin.post("/v1/admin/reload").json()["path"] == str(root / "good")  # no body: the configured one


@pytest.mark.parametrize("where", ["outside", "symlink", "dotdot", "root-sibling"])
def test_a_bundle_outside_the_models_root_is_refused_before_loading(
    admin: TestClient, root: Path, trained_bundle: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = Path(shutil.copytree(trained_bundle, root.parent / "elsewhere"))  # a valid bundle, but not here
    (root / "link").symlink_to(outside, target_is_directory=True)
    sibling = Path(shutil.copytree(trained_bundle, root.parent / "models-evil"))  # shares the root's prefix
    requested = {
        "outside": str(outside),
        "symlink": str(root / "link"),
        "dotdot": f"{root}/good/../../elsewhere",
        "root-sibling": str(sibling),
    }[where]
    loaded: list[object] = []
    monkeypatch.setattr(state_module, "load_bundle", lambda path: loaded.append(path))
    response = admin.post("/v1/admin/reload", json={"model_dir": requested})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden_path" and "TRIAGE_MODELS_ROOT" in error["message"]
    assert loaded == []  # nothing was read
    assert _reloads(admin, "failed") == "0"


def test_a_symlink_inside_the_root_to_a_bundle_inside_is_followed(admin: TestClient, root: Path) -> None:
    (root / "current").symlink_to(root / "good", target_is_directory=True)
    response = admin.post("/v1/admin/reload", json={"model_dir": str(root / "current")})
    assert response.status_code == 200 and response.json()["path"] == str((root / "good").resolve())


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"model_dir": "\\ud800"}', 422, "validation_error"),  # used to be a plain-text 500
        (b'{"model_dir": "models/a\\u0000b"}', 422, "validation_error"),
        (b'{"model_dir": "models/a\\nFAKE log line"}', 422, "validation_error"),
        (b'{"model_dir": "models/a\\u2028b"}', 422, "validation_error"),
        (b'{"model_dir": ""}', 422, "validation_error"),
        (b'{"model_dir": 42}', 422, "validation_error"),
        (b'{"model_dir": "' + b"a" * 5000 + b'"}', 422, "validation_error"),
        (b'{"model_dir": "/' + b"a" * 300 + b'"}', 403, "forbidden_path"),
        (b"null", 422, "validation_error"),
        (b'{"model_dir": ', 400, "invalid_json"),
    ],
)
def test_a_bad_model_dir_is_a_json_4xx(admin: TestClient, body: bytes, status: int, code: str) -> None:
    response = admin.post("/v1/admin/reload", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert admin.get("/readyz").status_code == 200


def test_a_too_long_name_inside_the_root_is_409_not_500(admin: TestClient, root: Path) -> None:
    response = admin.post("/v1/admin/reload", json={"model_dir": str(root / ("a" * 300))})
    assert response.status_code == 409 and response.json()["error"]["code"] == "bundle_rejected"


def test_whatever_the_loader_raises_the_old_model_keeps_serving(
    admin: TestClient, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown `model_params` key made the loader raise TypeError: a 500 on reload, a traceback at start."""

    def broken(path: Path) -> None:
        raise TypeError("TriageModel.__init__() got an unexpected keyword argument 'bogus'")

    version = admin.get("/readyz").json()["model_version"]
    monkeypatch.setattr(state_module, "load_bundle", broken)
    response = admin.post("/v1/admin/reload")
    assert response.status_code == 409
    assert "TypeError" in response.json()["error"]["message"] and "bogus" in response.json()["error"]["message"]
    assert admin.get("/readyz").json()["model_version"] == version
    assert admin.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200


def test_a_broken_bundle_at_start_is_one_log_line(
    root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(path: Path) -> None:
        raise TypeError("unexpected keyword argument 'bogus'")

    monkeypatch.setattr(state_module, "load_bundle", broken)
    with caplog.at_level(logging.DEBUG, logger="triage"), TestClient(create_app(make_settings(root / "good"))) as c:
        assert c.get("/readyz").status_code == 503
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and "starting without a model" in errors[0].getMessage()
    assert errors[0].exc_info is None


def test_client_supplied_values_cannot_forge_log_lines(
    admin: TestClient, root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(path: Path) -> None:
        raise BundleError(f"{path}: not a model bundle\nINFO forged: serving model evil")

    monkeypatch.setattr(state_module, "load_bundle", refuse)
    with caplog.at_level(logging.INFO, logger="triage"):
        assert admin.post("/v1/admin/reload", json={"model_dir": f"{root}/x\u00a0y"}).status_code == 409
    messages = [r.getMessage() for r in caplog.records]
    assert messages and all("\n" not in m for m in messages)
    assert any("\\nINFO forged" in m for m in messages)


def test_a_reload_frees_the_old_model_at_once(admin: TestClient) -> None:
    """Memory grew with reloads: nothing may keep the old triager alive (no cycle, no stray reference)."""
    state = admin.app.state.model  # type: ignore[attr-defined]
    old = weakref.ref(state.triager)
    assert admin.post("/v1/triage", json={"subject": "printer jam"}).status_code == 200
    assert admin.post("/v1/admin/reload").status_code == 200
    assert old() is None and state.triager is not None
