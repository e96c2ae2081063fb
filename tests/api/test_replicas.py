"""Replicas of the service on one PostgreSQL database (issue 15): two apps, each with its own store
connections, recorder, desk and delivery loop, act as one service. A ticket sent to both is recorded once;
eight agents whose requests alternate between the replicas (a load balancer) review every deferred ticket
exactly once; every review's webhook is sent exactly once, by both replicas between them; a reload asked of
one replica reaches the other, and a reload that fails there keeps its model."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select, text

from tests.api.conftest import ADMIN_KEY, KEY, make_settings
from tests.desk.conftest import sign_in
from tests.desk.test_review import form_of
from tests.store.conftest import IN_CI, PG_URL, _pg_reachable, pg_url
from triage import webhooks
from triage.api.main import create_app
from triage.api.replicas import Replicas
from triage.store import Store, queue, upgrade
from triage.store.agents import add_agent
from triage.store.engine import make_engine
from triage.store.models import outbox, reviews, tickets
from triage.store.reloads import publish
from triage.webhooks import DELIVERY_HEADER

AGENTS = 8


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh, migrated schema on the test server (dropped at the end)."""
    problem = _pg_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable ({problem}); CI=true: the tests must run")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable ({problem})")
    schema = f"triage_replicas_{time.monotonic_ns() % 10**12}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(pg_url(schema))
    upgrade(engine)
    engine.dispose()
    yield pg_url(schema)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


class TicketingSystem:
    """A local webhook receiver: counts each delivery id, per replica (each posts to its own path)."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.by_replica: Counter[str] = Counter()
        lock = threading.Lock()
        system = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(0.005)  # a real system takes a moment: the replicas' loops overlap
                with lock:
                    system.deliveries[self.headers[DELIVERY_HEADER]] += 1
                    system.by_replica[self.path.strip("/")] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def system() -> Iterator[TicketingSystem]:
    receiver = TicketingSystem()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def replica(name: str, models: Path, database: str, system: TicketingSystem) -> FastAPI:
    settings = make_settings(
        models / "default",
        models_root=models,
        record=True,
        database_url=database,
        webhook_url=f"{system.url}/{name}",
        webhook_secret=SecretStr("the webhook secret"),
        desk_secret=SecretStr("one desk secret, the same on every replica"),  # a session works on either
        replica_poll=0.1,
        max_batch=100,
    )
    return create_app(settings)


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


def reloads(app: FastAPI, result: str) -> float:
    return app.state.metrics.registry.get_sample_value("triage_model_reloads_total", {"result": result}) or 0.0


def served(app: FastAPI) -> Path:
    return Path(app.state.model.triager.bundle.path).resolve()


def test_two_replicas_on_one_database_act_as_one_service(
    trained_bundle: Path,
    small_export: Path,
    tmp_path: Path,
    database: str,
    system: TicketingSystem,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # both delivery loops poll often and claim small batches, so that both deliver during the test
    monkeypatch.setattr(webhooks, "deliver_forever", partial(webhooks.deliver_forever, every=0.1))
    monkeypatch.setattr(webhooks, "BATCH", 4)
    models = tmp_path / "models"
    for name in ("default", "v2", "broken"):
        shutil.copytree(trained_bundle, models / name)
    next((models / "broken").glob("*.json")).write_text("{}")  # fails verification
    app_a = replica("a", models, database, system)
    app_b = replica("b", models, database, system)
    with TestClient(app_a) as a, TestClient(app_b) as b:
        store: Store = app_a.state.recording.store
        assert app_b.state.recording.store is not store  # each replica has its own connections

        # the same tickets reach both replicas: each is recorded once, received twice
        rows = pd.read_csv(small_export, keep_default_na=False).head(60)
        batch = {"tickets": [{"id": r.id, "subject": r.subject, "body": r.body} for r in rows.itertuples()]}
        for client in (a, b):
            answer = client.post("/v1/triage/batch", json=batch, headers={"X-API-Key": KEY})
            assert answer.status_code == 200
            results = [item["result"] for item in answer.json()["results"]]
            assert all(r["recorded"] for r in results)
        for app in (app_a, app_b):
            assert app.state.recording.recorder.flush(timeout=30)
        with store.read() as conn:
            received = conn.execute(select(tickets.c.id, tickets.c.times_received)).all()
        assert len(received) == len(rows) and {n for _, n in received} == {2}
        deferred = sorted(r["id"] for r in results if r["outcome"] == "needs_review")
        assert 10 <= len(deferred) < len(rows)  # some auto-routed: they must stay out of the queue
        assert sorted(item.id for item in queue(store, limit=len(rows))) == deferred

        # eight agents, each request going to the other replica than the one before
        for i in range(AGENTS):
            add_agent(store, f"agent{i}", f"password-of-agent-{i}")
        for client in (a, b):  # the desk installs itself at its first request: once, before the agents' threads
            assert client.get("/review/login").status_code == 200
        handled: list[tuple[str, str]] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            name = f"agent{i}"
            clients = [TestClient(app, base_url="http://testserver") for app in (app_a, app_b)]
            k = i % 2
            csrf = sign_in(clients[k], name, f"password-of-agent-{i}")
            clients[1 - k].cookies = clients[k].cookies  # the session cookie, valid on either replica
            page = clients[1 - k].post("/review/next", data={"csrf": csrf})
            k = 1 - k
            while page.url.path.startswith("/review/t/"):
                ticket_id = unquote(page.url.path.removeprefix("/review/t/"))
                clients[1 - k].cookies = clients[k].cookies
                k = 1 - k
                answer = clients[k].post(f"/review/t/{quote(ticket_id, safe='')}", data=form_of(page.text))
                assert answer.status_code == 200, (answer.status_code, answer.text[:300])  # 409: not exclusive
                with lock:
                    handled.append((ticket_id, name))
                page = answer
            for client in clients:
                client.close()

        with ThreadPoolExecutor(AGENTS) as pool:
            list(pool.map(work, range(AGENTS)))
        assert sorted(i for i, _ in handled) == deferred  # every deferred ticket reviewed exactly once
        assert len({agent for _, agent in handled}) > 1
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(reviews)).scalar() == len(deferred)
            assert conn.execute(select(func.count()).select_from(outbox)).scalar() == len(deferred)

        # every review's webhook sent exactly once, the two replicas sharing the work
        def all_delivered() -> bool:
            with store.read() as conn:
                return not conn.execute(select(func.count()).where(outbox.c.delivered_at.is_(None))).scalar()

        assert wait_for(all_delivered), system.deliveries
        time.sleep(0.5)  # a duplicate sent late would show now
        assert len(system.deliveries) == len(deferred)
        assert set(system.deliveries.values()) == {1}, system.deliveries.most_common(3)
        assert system.by_replica["a"] > 0 and system.by_replica["b"] > 0, system.by_replica

        # a reload asked of replica a reaches replica b; a does not reload twice
        assert served(app_a) == served(app_b) == (models / "default").resolve()
        answer = a.post("/v1/admin/reload", json={"model_dir": str(models / "v2")}, headers={"X-API-Key": ADMIN_KEY})
        assert answer.status_code == 200, answer.text
        assert wait_for(lambda: served(app_b) == (models / "v2").resolve(), 20)
        time.sleep(0.5)
        assert reloads(app_a, "ok") == 1 and reloads(app_b, "ok") == 1

        # a reload that cannot load (a broken bundle; a folder outside the models root) keeps the model
        publish(store, str(models / "broken"), origin="replica-c")
        assert wait_for(lambda: reloads(app_a, "failed") == 1 and reloads(app_b, "failed") == 1, 20)
        publish(store, str(tmp_path / "elsewhere"), origin="replica-c")
        assert wait_for(lambda: reloads(app_a, "failed") == 2 and reloads(app_b, "failed") == 2, 20)
        assert served(app_a) == served(app_b) == (models / "v2").resolve()
        assert a.get("/readyz").status_code == b.get("/readyz").status_code == 200

        # a reload of the configured model (after `triage promote`: models:/NAME@champion) reaches both
        publish(store, None, origin="replica-c")
        assert wait_for(lambda: served(app_a) == served(app_b) == (models / "default").resolve(), 20)


def test_a_replica_follows_the_others_reloads_not_its_own(tmp_path: Path) -> None:
    """On SQLite too (two services on one machine): the baseline at start, another replica's reload followed
    once, this replica's own skipped, and of two published between two reads the later one."""
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    engine = make_engine(url)
    upgrade(engine)
    store = Store(engine)
    mine, theirs = Replicas(None), Replicas(None)
    assert mine.origin != theirs.origin  # two apps in one process are two replicas
    mine.baseline()  # no store bound: nothing shared
    assert mine.seen is None and mine.pending() is None and not mine.shared
    for each in (mine, theirs):
        each.bind(lambda: store)
    publish(store, "models/old", origin="gone")  # before this replica started: not reloaded
    mine.baseline()
    assert mine.seen == 1 and mine.pending() is None
    theirs.publish(tmp_path / "models" / "v2")
    found = mine.pending()
    assert found is not None and (found.generation, found.source) == (2, str(tmp_path / "models" / "v2"))
    assert mine.pending() is None  # once
    mine.publish(None)
    assert mine.pending() is None and theirs.pending().source is None  # its own is not followed again
    theirs.publish("models:/triage@champion")
    mine.publish("models/v3")
    assert theirs.pending().source == "models/v3"  # the later of two wins
    assert mine.pending() is None  # the latest is its own
    engine.dispose()
