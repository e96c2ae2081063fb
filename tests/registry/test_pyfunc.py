"""A bundle registered in MLflow answers through the pyfunc flavour as the API does (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.api.conftest import KEY, make_settings
from triage.api.main import create_app
from triage.cli import app
from triage.cli import commands as _commands  # noqa: F401  (registers the commands)
from triage.cli import registry as _registry  # noqa: F401
from triage.errors import BundleSignatureError, DataError
from triage.registry import register_bundle
from triage.registry.versions import client

runner = CliRunner()


def said(result: Any) -> str:
    """What a command printed, with rich's line wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def tickets(ordinary_tickets: pd.DataFrame) -> pd.DataFrame:
    """40 unseen tickets as the API receives them: id, subject, body (one with nothing but markup)."""
    raw = pd.read_csv(Path(__file__).parents[2] / "datasets" / "helpdesk_tickets.csv.gz")
    rows = raw[raw["id"].astype(str).isin(ordinary_tickets["id"].astype(str))].head(40)
    frame = rows[["id", "subject", "body"]].astype({"id": str}).reset_index(drop=True)
    frame.loc[3, ["subject", "body"]] = ["", "<p>&nbsp;</p>"]  # markup only: needs review, no text
    return frame


def test_the_registered_pyfunc_answers_as_the_api_and_triage_predict(
    registry: str, trained_bundle: Path, tickets: pd.DataFrame, tmp_path: Path
) -> None:
    version = register_bundle(trained_bundle, registry)
    assert str(version.version) == "1"
    tags = client().get_model_version(registry, "1").tags
    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    assert tags["triage.model_version"] == manifest["model_version"]
    assert tags["triage.data_fingerprint"] == manifest["data"]["fingerprint"]

    model = mlflow.pyfunc.load_model(f"models:/{registry}/1")
    table = model.predict(tickets)

    records = tickets.fillna("").to_dict("records")  # an absent body is "" for the API
    with TestClient(create_app(make_settings(trained_bundle))) as api:
        api.headers["X-API-Key"] = KEY
        answers = []
        for start in range(0, len(tickets), 5):  # the test service takes batches of 5
            batch = records[start : start + 5]
            response = api.post("/v1/triage/batch", json={"tickets": batch})
            assert response.status_code == 200, response.text
            answers += [item["result"] for item in response.json()["results"]]
    assert table["id"].tolist() == [a["id"] for a in answers]
    assert table["decision"].tolist() == [a["outcome"] for a in answers]
    assert {"auto_route", "needs_review"} == set(table["decision"])  # both branches are compared
    for head in ("category", "priority", "tier"):
        assert table[head].tolist() == [a["heads"][head]["label"] for a in answers]
        assert table[f"{head}_confidence"].tolist() == pytest.approx([a["heads"][head]["confidence"] for a in answers])
        assert table[f"{head}_prediction_set"].tolist() == [
            "|".join(a["heads"][head]["prediction_set"]) for a in answers
        ]
    codes = [";".join(f"{r['code']}:{r['head']}" if r["head"] else r["code"] for r in a["reasons"]) for a in answers]
    assert table["reason_codes"].tolist() == codes
    assert table["reason_codes"][3].startswith("no_text;") and table["decision"][3] == "needs_review"

    export = tmp_path / "tickets.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(
        app, ["predict", "--model", str(trained_bundle), str(export), "--out", str(tmp_path / "p.csv")]
    )
    assert result.exit_code == 0, result.output
    local = pd.read_csv(tmp_path / "p.csv", dtype={"id": str}, keep_default_na=False)
    assert list(local.columns) == list(table.columns)  # the same table as local `triage predict`
    assert local["id"].tolist() == [i for i in table["id"] if i != table["id"][3]]  # the loader drops no-text rows
    same = table.set_index("id").loc[local["id"]]
    assert local["decision"].tolist() == same["decision"].tolist()
    assert local["category"].tolist() == same["category"].tolist()
    assert local["reason_codes"].tolist() == same["reason_codes"].tolist()


def test_loading_verifies_the_signature_with_the_trusted_keys(
    registry: str, trained_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from triage.models.signing import public_key_text
    from triage.settings import get_settings

    register_bundle(trained_bundle, registry)
    monkeypatch.setenv("TRIAGE_TRUSTED_KEYS", json.dumps([public_key_text(Ed25519PrivateKey.generate().public_key())]))
    get_settings.cache_clear()
    with pytest.raises(BundleSignatureError, match="does not trust"):
        mlflow.pyfunc.load_model(f"models:/{registry}/1")


def test_tickets_without_text_columns_are_refused_by_name(registry: str, trained_bundle: Path) -> None:
    register_bundle(trained_bundle, registry)
    model = mlflow.pyfunc.load_model(f"models:/{registry}/1")
    with pytest.raises(DataError, match="'subject' or 'body'"):
        model.predict(pd.DataFrame({"text": ["printer jam"]}))
    with pytest.raises(DataError, match="row 1: subject and body are both empty"):
        model.predict(pd.DataFrame({"subject": ["printer jam", " "], "body": [None, None]}))


def test_train_register_logs_a_version_in_the_training_run(
    registry: str, training_export: Path, tmp_path: Path
) -> None:
    few = tmp_path / "few.csv"
    pd.read_csv(training_export).sample(n=300, random_state=3).sort_values("created_at").to_csv(few, index=False)
    args = ["train", str(few), "--out", str(tmp_path / "model"), "--features", "tfidf", "--trees", "off"]
    result = runner.invoke(app, [*args, "--novelty-false-alarm", "0.2", "--register", registry])
    assert result.exit_code == 0, result.output
    assert f"models:/{registry}/1" in said(result)
    version = client().get_model_version(registry, "1")
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert version.run_id == manifest["training"]["mlflow_run_id"]  # the training's run holds the model
    refused = runner.invoke(app, [*args, "--no-mlflow", "--register", registry])
    assert refused.exit_code == 2 and "--no-mlflow" in said(refused)
