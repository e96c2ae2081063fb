"""Fixtures of the desk tests: a migrated SQLite store seeded through the store's recorder with real
decisions of the test bundle (so the suggestions, choices and reasons are the model's), two agents, and a
desk app around it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from triage.data.cleaning import prepare_text
from triage.decision import Decision, Outcome, Triager
from triage.desk import install_desk
from triage.models import load_bundle
from triage.settings import Settings
from triage.store import Recorder, Store, TicketRecord, upgrade
from triage.store.agents import add_agent
from triage.store.engine import make_engine
from triage.store.types import utcnow

PASSWORDS = {"ann": "ann-password-1", "bob": "bob-password-1"}
N_SEEDED = 12


@pytest.fixture(scope="session")
def model_labels(trained_bundle: Path) -> dict[str, list[str]]:
    return {head: list(info.labels) for head, info in load_bundle(trained_bundle).manifest.heads.items()}


@pytest.fixture(scope="session")
def decided(trained_bundle: Path, small_export: Path) -> list[tuple[TicketRecord, Decision]]:
    """Ordinary tickets the bundle never saw with its real decisions: ``N_SEEDED`` deferred ones (with
    several reasons among them) and two it auto-routes (which must never reach the queue)."""
    frame = pd.read_csv(small_export).head(200)
    triager = Triager(load_bundle(trained_bundle))
    texts = [prepare_text(s, b)[0] for s, b in zip(frame["subject"], frame["body"], strict=True)]
    decisions = triager.decide(texts)
    deferred: list[tuple[TicketRecord, Decision]] = []
    routed: list[tuple[TicketRecord, Decision]] = []
    for (_, row), decision in zip(frame.iterrows(), decisions, strict=True):
        record = TicketRecord.from_request(
            id=row["id"], subject=row["subject"], body=row["body"], channel=row["channel"]
        )
        (deferred if decision.outcome == Outcome.NEEDS_REVIEW else routed).append((record, decision))
    assert len(deferred) >= N_SEEDED and len(routed) >= 2
    return deferred[:N_SEEDED] + routed[:2]


@pytest.fixture(scope="session")
def first_id(decided: list[tuple[TicketRecord, Decision]]) -> str:
    """The most urgent deferred ticket: the first with a priority risk (the seed has one), else the oldest."""
    deferred = [(r.id, d) for r, d in decided if d.reasons]
    return next((i for i, d in deferred if any(x.code == "priority_risk" for x in d.reasons)), deferred[0][0])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("desk-store") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path, decided: list[tuple[TicketRecord, Decision]]) -> Iterator[Store]:
    """A migrated store holding the decided tickets (received an hour apart, the first the oldest) and two
    agents, ann (admin) and bob."""
    path = tmp_path / "triage.db"
    shutil.copy(sqlite_template, path)
    store = Store(make_engine(f"sqlite:///{path}"))
    recorder = Recorder(store)
    start = utcnow() - timedelta(hours=len(decided) + 1)
    for i, item in enumerate(decided):
        assert recorder.record(*item, received_at=start + timedelta(hours=i))
    add_agent(store, "ann", PASSWORDS["ann"], admin=True)
    add_agent(store, "bob", PASSWORDS["bob"])
    yield store
    store.dispose()


def desk_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "desk_secret": SecretStr("a test secret of the desk, long enough"),
        "signing_key": tmp_path / "keys" / "signing.pem",
        "database_url": "sqlite:///unused.db",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def desk_app(store: Store, tmp_path: Path, model_labels: dict[str, list[str]]) -> FastAPI:
    app = FastAPI()
    install_desk(app, desk_settings(tmp_path), store=lambda: store, labels=lambda: model_labels)
    return app


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str | None = None) -> str:
    """Sign ``name`` in; the CSRF token of the new session."""
    token = csrf_of(client.get("/review/login").text)
    answer = client.post("/review/login", data={"csrf": token, "name": name, "password": password or PASSWORDS[name]})
    assert answer.status_code == 200 and answer.url.path == "/review", answer.text[:500]
    return csrf_of(answer.text)


@pytest.fixture
def client_of(desk_app: FastAPI) -> Iterator[Callable[[str | None], TestClient]]:
    """A client per agent (signed in) or anonymous (None); each with its own cookies."""
    clients: list[TestClient] = []

    def make(name: str | None) -> TestClient:
        client = TestClient(desk_app, base_url="http://testserver")
        clients.append(client)
        if name is not None:
            client.desk_csrf = sign_in(client, name)  # type: ignore[attr-defined]
        return client

    yield make
    for client in clients:
        client.close()
