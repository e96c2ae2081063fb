"""The admin page's "Candidate categories" panel: the planted groups with their words, counts and examples,
computed once per model and period; a desk without a served model says so."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.desk.conftest import PASSWORDS, desk_settings, sign_in
from tests.topics.planted import PARKING, WALLET
from triage.decision import Triager
from triage.desk import install_desk, topics
from triage.models import load_bundle
from triage.store import Store
from triage.store.agents import add_agent


def admin_page(store_url: str, tmp_path: Path, bundle: Path | None) -> tuple[FastAPI, TestClient]:
    store = Store.from_url(store_url)
    add_agent(store, "ann", PASSWORDS["ann"], admin=True)
    app = FastAPI()
    install_desk(app, desk_settings(tmp_path), store=lambda: store, labels=lambda: {})
    if bundle is not None:
        app.state.model = SimpleNamespace(triager=Triager(load_bundle(bundle)))
    client = TestClient(app, base_url="http://testserver")
    sign_in(client, "ann")
    return app, client


def test_admins_see_candidate_categories(
    store_url: str, trained_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = []
    real = topics.store_topics
    monkeypatch.setattr(topics, "store_topics", lambda *a, **k: computed.append(1) or real(*a, **k))
    _, client = admin_page(store_url, tmp_path, trained_bundle)
    page = client.get("/review/admin").text
    panel = page[page.index('id="candidate-categories"') :]
    panel = panel[: panel.index("</section>")]
    assert "41 tickets of the last 30 days the model could not place (32 unfamiliar, 9 corrected" in panel
    assert "<h3>crypto wallet," in panel and "<h3>parking permit," in panel
    assert panel.index("crypto wallet") < panel.index("parking permit")  # the largest first
    stored = [text.replace(" ", ". ", 1) for text in WALLET + PARKING]  # the first word is the subject
    assert sum(text in panel for text in stored) == 6
    client.get("/review/admin")
    assert len(computed) == 1  # cached for the model and period
    client.get("/review/admin?days=7")
    assert len(computed) == 2


def test_without_a_served_model_the_panel_says_so(store_url: str, tmp_path: Path) -> None:
    _, client = admin_page(store_url, tmp_path, None)
    answer = client.get("/review/admin")
    assert answer.status_code == 200 and "No model is loaded" in answer.text


def test_a_failure_leaves_the_rest_of_the_page(
    store_url: str, trained_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the encoder is gone")

    monkeypatch.setattr(topics, "store_topics", broken)
    _, client = admin_page(store_url, tmp_path, trained_bundle)
    answer = client.get("/review/admin")
    assert answer.status_code == 200 and "could not be computed (RuntimeError)" in answer.text
    assert 'id="agents"' in answer.text
