"""The desk inside the service: tickets triaged through the API are recorded and show up in the desk's
queue; the desk's pages need a session, not an API key, and stay out of the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.desk.conftest import csrf_of, sign_in
from triage.api.main import create_app
from triage.settings import Settings
from triage.store import Store, queue
from triage.store.agents import add_agent

KEY = "desk-test-key"


@pytest.fixture
def service(trained_bundle: Path, sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    path = tmp_path / "service.db"
    path.write_bytes(sqlite_template.read_bytes())
    settings = Settings(
        model_dir=trained_bundle,
        models_root=trained_bundle.parent,
        api_keys=[SecretStr(KEY)],
        database_url=f"sqlite:///{path}",
        desk_secret=SecretStr("the desk secret of the service test"),
    )
    app = create_app(settings)  # mounts the desk, at its first request
    with TestClient(app) as client:
        store = app.state.recording.store
        assert not hasattr(app.state, "desk")  # not needed to answer the API: not imported at start
        assert client.get("/review/login").status_code == 200
        assert app.state.desk.store() is store  # the desk works on the store the service records into
        add_agent(store, "ann", "ann-password-1")
        yield client, store


def test_tickets_triaged_by_the_api_reach_the_desk(
    service: tuple[TestClient, Store], small_export: Path, model_labels: dict[str, list[str]]
) -> None:
    client, store = service
    rows = pd.read_csv(small_export, keep_default_na=False).head(40)
    tickets = [{"id": r.id, "subject": r.subject, "body": r.body} for r in rows.itertuples()]
    answer = client.post("/v1/triage/batch", json={"tickets": tickets}, headers={"X-API-Key": KEY})
    assert answer.status_code == 200
    results = [item["result"] for item in answer.json()["results"]]
    deferred = [r["id"] for r in results if r["outcome"] == "needs_review"]
    assert len(deferred) < len(results)  # some were auto-routed: they must not reach the queue
    assert deferred and sorted(item.id for item in queue(store)) == sorted(deferred)
    sign_in(client, "ann", "ann-password-1")
    page = client.get("/review")
    assert f"{len(deferred)} tickets to review" in page.text
    opened = client.post("/review/next", data={"csrf": csrf_of(page.text)})
    assert opened.url.path.removeprefix("/review/t/") in deferred
    for label in model_labels["category"]:  # the served model's labels can be typed
        assert f"&#34;{label}&#34;" in opened.text
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/review")]
