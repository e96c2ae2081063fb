"""`triage retrain`: train → compare with the champion on the most recent tickets → register → promote →
reload, with an exit code per step that stops it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import ADMIN_KEY, make_settings
from triage.api.main import create_app
from triage.cli import app
from triage.cli import registry as _registry  # noqa: F401  (registers the commands)
from triage.cli.registry import RetrainExit
from triage.registry import get_alias, get_version, register_bundle, set_champion
from triage.registry.versions import client

runner = CliRunner()


def said(result: Any) -> str:
    """What a command printed, with rich's line wrapping undone."""
    return " ".join(result.output.split())


QUICK = ["--features", "tfidf", "--trees", "off", "--novelty-false-alarm", "0.2"]
TARGETS = [
    "--precision-target",
    "category=0.85",
    "--precision-target",
    "priority=0.5",
    "--precision-target",
    "tier=0.85",
]


def _retrain(registry: str, export: Path, out: Path, *extra: str) -> Any:
    return runner.invoke(app, ["retrain", str(export), "--name", registry, "--out", str(out), *QUICK, *TARGETS, *extra])


def test_a_failing_gate_registers_without_promoting(
    registry: str, trained_bundle: Path, retrain_export: Path, tmp_path: Path
) -> None:
    # the champion learnt from 3,000 tickets, the held-out recent ones among them; the challenger from 960
    register_bundle(trained_bundle, registry)
    set_champion(registry, get_version(registry, "1"), how="first champion")
    result = _retrain(registry, retrain_export, tmp_path / "new", "--min-support", "10")
    assert result.exit_code == RetrainExit.GATE == 6, result.output
    assert "retrain stopped at the gate" in said(result)
    assert str(get_alias(registry).version) == "1"  # the champion is unchanged
    tags = client().get_model_version(registry, "2").tags  # the challenger is registered, for a look
    assert tags["triage.gate"] == "failed" and tags["triage.gate_against"] == "1"
    compared = json.loads((tmp_path / "new.compare" / "compare.json").read_text())
    assert compared["gate"]["passed"] is False
    assert 235 <= compared["heads"]["category"]["n_tickets"] <= 240  # the most recent fifth of the kept tickets


def test_the_first_run_promotes_and_a_passing_gate_reloads_the_services(
    registry: str, weak_bundle: Path, retrain_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_bundle(weak_bundle, registry)
    set_champion(registry, get_version(registry, "1"), how="first champion")
    settings = make_settings(Path(f"models:/{registry}@champion"), models_root=tmp_path / "models")
    with TestClient(create_app(settings)) as service:
        sent: list[tuple[str, dict[str, str]]] = []

        def post(url: str, *, headers: dict[str, str], timeout: float) -> httpx.Response:
            sent.append((url, headers))
            return service.post(url.removeprefix("http://desk-a"), headers=headers)

        monkeypatch.setattr(httpx, "post", post)
        monkeypatch.setenv("TRIAGE_ADMIN_KEY", ADMIN_KEY)
        # a lenient gate: this test is about the steps after it (the challenger learnt from three times more)
        result = _retrain(
            registry, retrain_export, tmp_path / "new", "--max-recall-drop", "0.5", "--reload-url", "http://desk-a/"
        )
        assert result.exit_code == RetrainExit.DONE, result.output
        assert str(get_alias(registry).version) == "2"
        assert sent == [("http://desk-a/v1/admin/reload", {"X-API-Key": ADMIN_KEY})]
        new_version = json.loads((tmp_path / "new" / "manifest.json").read_text())["model_version"]
        assert service.get("/v1/model", headers={"X-API-Key": ADMIN_KEY}).json()["model_version"] == new_version


def test_exit_codes_of_training_and_reload_failures(registry: str, retrain_export: Path, tmp_path: Path) -> None:
    not_an_export = tmp_path / "notes.csv"
    not_an_export.write_text("a,b\n1,2\n")
    failed = _retrain(registry, not_an_export, tmp_path / "x")
    assert failed.exit_code == RetrainExit.TRAIN == 3 and "retrain stopped at training" in said(failed)
    unmigrated = f"sqlite:///{tmp_path / 'empty.db'}"
    no_store = _retrain(registry, retrain_export, tmp_path / "x", "--from-store", "--database-url", unmigrated)
    assert no_store.exit_code == RetrainExit.TRAIN and "retrain stopped at training" in said(no_store)
    assert get_alias(registry) is None

    # no champion yet: the first version is promoted without a comparison; the service cannot be reached
    unreachable = _retrain(registry, retrain_export, tmp_path / "new", "--reload-url", "http://127.0.0.1:9")
    assert unreachable.exit_code == RetrainExit.RELOAD == 8, unreachable.output
    assert "no champion yet" in said(unreachable) and "reload failed" in said(unreachable)
    assert str(get_alias(registry).version) == "1"
    assert client().get_model_version(registry, "1").tags["triage.promotion"] == "first champion"
