"""Cost of live quality on /metrics with a large store (issue 13), on SQLite and on PostgreSQL.

    python benchmarks/metrics_scrape.py [--tickets 1000000] [--days 100] [--scrapes 200] [--backends sqlite,postgresql]

For each backend, a store of --tickets tickets received evenly over the last --days days is seeded by bulk
SQL (one ``INSERT ... SELECT`` per table over a recursive CTE on SQLite, ``generate_series`` on PostgreSQL):
60% auto-routed, 40% deferred (low confidence on the category; 1 in 50 of them unfamiliar too), the deferred
tickets older than a day reviewed (1 in 7 corrected, 1 in 25 "not a ticket") and 5% of the auto-routed ones
reviewed through the API; 70% of the tickets older than a week have an outcome (1 in 13 disagreeing with the
suggestion). 20 categories, 4 priorities, 3 tiers; a short subject and body on every ticket younger than
the default text retention (90 days; older ones purged, as the service's daily purge leaves them).

Then, in process, on the app of ``triage serve`` (recording on that store; no model, so no targets):
- ``cold``: scrapes before any live-quality summary exists (they start the background refresh, not wait);
- ``refresh``: the queries behind the summary (:func:`compute_quality`), run in the background every
  ``max_age`` seconds (60 by default), timed --refreshes times;
- ``warm``: --scrapes scrapes of GET /metrics through the ASGI app (TestClient), the figures cached;
- ``during_refresh``: scrapes while a refresh runs in another thread (the database busy, the GIL shared);
- ``healthz``: GET /healthz the same way, for what the ASGI round trip and the machine's load cost anyway;
- ``render``: the exposition alone (``generate_latest``), wall and CPU time of the thread.
The target: a scrape within 50 ms. SQLite works on a file in benchmarks/results/; PostgreSQL in its own
database ``triage_bench_metrics`` (created when missing, dropped with --drop). Results:
benchmarks/results/metrics_scrape.json.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from sqlalchemy import Connection, text

from triage.api.main import create_app
from triage.monitoring import compute_quality
from triage.settings import Settings
from triage.store import Store, upgrade
from triage.store.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results"
PG_SERVER = os.environ.get("TRIAGE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "triage_bench_metrics"
DAY = 86400

# One statement per table. {series}: the rows 1..:n as column i; {ts(x)}: epoch seconds x as the dialect's
# timestamp; {id(x)}: a 32-character id from the integer x. Every ticket i: received at :t0 + i * :step.
DEFERRED = "(i % 10 >= 6)"
RECENT = "(:t0 + i * :step >= :now - 86400)"  # received in the last day: deferred ones still wait
OUTCOME = "(:t0 + i * :step < :now - 7 * 86400 AND i % 10 < 7)"
REVIEWED = f"(({DEFERRED} AND NOT {RECENT}) OR i % 20 = 1)"
CATEGORY = "'cat' || ((i / 10) % 20)"  # integer division: the category independent of the outcome
PURGED = "(:t0 + i * :step < :now - 90 * 86400)"  # text older than the default retention is already purged
STATEMENTS = {
    "tickets": f"""
        INSERT INTO tickets (id, received_at, updated_at, times_received, channel, subject, body, truncated,
                             text_purged_at, metadata, decision_id, version, reviewed_by, reviewed_at, review_id,
                             waiting, queue_rank, category, tier)
        {{series}}
        SELECT 'B' || i, {{ts(":t0 + i * :step")}}, {{ts(":t0 + i * :step")}}, 1, 'email',
               CASE WHEN NOT {PURGED} THEN 'subject of ticket ' || i END,
               CASE WHEN NOT {PURGED} THEN 'the body of a benchmark ticket, about as long as a short one ' || i END,
               {{false}}, CASE WHEN {PURGED} THEN {{ts(":now")}} END, '{{{{}}}}', {{id("i")}},
               CASE WHEN {REVIEWED} THEN 2 ELSE 1 END,
               CASE WHEN {REVIEWED} THEN 'agent' END,
               CASE WHEN {REVIEWED} THEN {{ts(":t0 + i * :step + 3600")}} END,
               CASE WHEN {REVIEWED} THEN i END,
               {DEFERRED} AND NOT {REVIEWED}, 1,
               CASE WHEN {DEFERRED} AND NOT {REVIEWED} THEN {CATEGORY} END,
               CASE WHEN {DEFERRED} AND NOT {REVIEWED} THEN 'L' || (1 + i % 3) END
        FROM s""",
    "decisions": f"""
        INSERT INTO decisions (id, ticket_id, decided_at, outcome, model_version, category, priority, tier,
                               priority_risk, reasons, heads)
        {{series}}
        SELECT {{id("i")}}, 'B' || i, {{ts(":t0 + i * :step")}},
               CASE WHEN {DEFERRED} THEN 'needs_review' ELSE 'auto_route' END, 'bench',
               {CATEGORY}, 'P' || (1 + i % 4), 'L' || (1 + i % 3), {{false}}, '[]', '{{{{}}}}'
        FROM s""",
    "decision_reasons": f"""
        INSERT INTO decision_reasons (decision_id, code, head)
        {{series}}
        SELECT {{id("i")}}, 'low_confidence', 'category' FROM s WHERE {DEFERRED}
        UNION ALL
        SELECT {{id("i")}}, 'unfamiliar', '' FROM s WHERE {DEFERRED} AND i % 50 = 6""",
    "reviews": f"""
        INSERT INTO reviews (id, ticket_id, decision_id, agent, source, reviewed_at, provenance, category,
                             priority, tier, changed)
        {{series}}
        SELECT i, 'B' || i, {{id("i")}}, 'agent', CASE WHEN {DEFERRED} THEN 'desk' ELSE 'api' END,
               {{ts(":t0 + i * :step + 3600")}},
               CASE WHEN i % 25 = 3 THEN 'not_a_ticket' WHEN i % 7 = 0 THEN 'corrected' ELSE 'accepted' END,
               CASE WHEN i % 25 = 3 THEN NULL WHEN i % 7 = 0 THEN 'cat' || ((i / 10 + 1) % 20) ELSE {CATEGORY} END,
               CASE WHEN i % 25 = 3 THEN NULL ELSE 'P' || (1 + i % 4) END,
               CASE WHEN i % 25 = 3 THEN NULL ELSE 'L' || (1 + i % 3) END,
               CAST(CASE WHEN i % 7 = 0 AND i % 25 <> 3 THEN '["category"]' ELSE '[]' END AS {{json}})
        FROM s WHERE {REVIEWED}""",
    "outcomes": f"""
        INSERT INTO outcomes (ticket_id, source, resolved_at, received_at, category, priority, tier, disagrees)
        {{series}}
        SELECT 'B' || i, 'bench', {{ts(":t0 + i * :step + 7 * 86400")}}, {{ts(":t0 + i * :step + 7 * 86400")}},
               CASE WHEN i % 13 = 0 THEN 'cat' || ((i / 10 + 3) % 20) ELSE {CATEGORY} END,
               'P' || (1 + i % 4), 'L' || (1 + i % 3), '[]'
        FROM s WHERE {OUTCOME}""",
}
DIALECT = {
    "sqlite": {
        "series": "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)",
        "ts": lambda x: f"strftime('%Y-%m-%d %H:%M:%f', {x}, 'unixepoch')",
        "id": lambda x: f"printf('%032d', {x})",
        "false": "0",
        "json": "TEXT",
    },
    "postgresql": {
        "series": "WITH s(i) AS (SELECT generate_series(1, :n))",
        "ts": lambda x: f"to_timestamp({x})",
        "id": lambda x: f"lpad(({x})::text, 32, '0')",
        "false": "false",
        "json": "jsonb",
    },
}


def statement(table: str, dialect: str) -> str:
    d = DIALECT[dialect]
    sql = STATEMENTS[table]
    for name in ("ts", "id"):
        while f"{{{name}(" in sql:
            start = sql.index(f"{{{name}(")
            end = sql.index(")}", start)
            argument = sql[start + len(name) + 3 : end - 1]  # inside the quotes
            sql = sql[:start] + d[name](argument) + sql[end + 2 :]  # type: ignore[operator]
    for name in ("series", "false", "json"):
        sql = sql.replace(f"{{{name}}}", str(d[name]))
    return sql.replace("{{}}", "{}")


def seed(store: Store, n: int, days: float) -> dict[str, Any]:
    """Fill an empty, migrated store; returns the seconds per table and the row counts."""
    now = time.time()
    params = {"n": n, "t0": now - days * DAY, "step": days * DAY / n, "now": now}
    timings: dict[str, float] = {}
    with store.write() as conn:
        for table in STATEMENTS:
            started = time.perf_counter()
            conn.execute(text(statement(table, store.dialect)), params)
            timings[table] = round(time.perf_counter() - started, 1)
        waiting = conn.execute(text("SELECT count(*) FROM tickets WHERE waiting")).scalar_one()
        conn.execute(text("DELETE FROM queue_counts"))
        conn.execute(text("INSERT INTO queue_counts (code, head, n) VALUES ('*', '*', :n)"), {"n": waiting})
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in STATEMENTS}
    analyze(store)
    return {"seconds": timings, "rows": counts, "waiting": waiting}


def analyze(store: Store) -> None:
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def seeded(store: Store, n: int) -> bool:
    with store.read() as conn:
        return bool(_count(conn) == n)


def _count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM tickets")).scalar_one())


def stats(ms: list[float]) -> dict[str, float]:
    a = np.array(ms)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "max_ms": round(float(a.max()), 2),
        "n": len(a),
    }


def scrape(client: TestClient, path: str = "/metrics") -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200
    return elapsed


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(database_url=url, record=True, auth="off", model_dir=OUT / "no-model")
    app = create_app(settings, load_model=False)
    result: dict[str, Any] = {}
    with TestClient(app) as client:
        live = app.state.live_quality
        live.refresh = lambda: None  # cold: no summary may appear while measuring
        result["cold"] = stats([scrape(client) for _ in range(20)])
        del live.refresh
        store = app.state.recording.store
        refresh_ms = []
        for _ in range(args.refreshes):
            started = time.perf_counter()
            summary = compute_quality(store)
            refresh_ms.append((time.perf_counter() - started) * 1000)
        result["refresh"] = stats(refresh_ms)
        result["window_tickets"] = {k: w.tickets for k, w in summary.windows.items()}
        assert live.refresh() is not None
        body = client.get("/metrics").text
        result["series"] = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
        result["live_series"] = sum(1 for line in body.splitlines() if line.startswith("triage_live_"))
        result["warm"] = stats([scrape(client) for _ in range(args.scrapes)])
        result["healthz"] = stats([scrape(client, "/healthz") for _ in range(args.scrapes)])  # the load's share
        registry = app.state.metrics.exposition()
        wall, cpu = [], []
        for _ in range(args.scrapes):
            started, started_cpu = time.perf_counter(), time.thread_time()
            generate_latest(registry)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
        result["render"] = {"wall": stats(wall), "cpu": stats(cpu)}
        during: list[float] = []
        for _ in range(max(1, args.refreshes)):
            worker = threading.Thread(target=compute_quality, args=(store,))
            worker.start()
            while worker.is_alive():
                during.append(scrape(client))
                time.sleep(0.05)
            worker.join()
        result["during_refresh"] = stats(during)
    return result


def sqlite_url(n: int) -> str:
    return f"sqlite:///{OUT / f'metrics_scrape-{n}.db'}"


def postgres_url() -> str:
    server = make_engine(PG_SERVER)
    with server.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DATABASE}).first()
        if exists is None:
            conn.exec_driver_sql(f'CREATE DATABASE "{PG_DATABASE}"')
    server.dispose()
    return PG_SERVER.rsplit("/", 1)[0] + "/" + PG_DATABASE


def drop_postgres() -> None:
    server = make_engine(PG_SERVER)
    with server.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"')
    server.dispose()


def prepare(url: str, n: int, days: float) -> dict[str, Any]:
    """A migrated store with the seed (reseeded unless it holds exactly ``n`` tickets)."""
    engine = make_engine(url)
    upgrade(engine)
    store = Store(engine)
    try:
        if seeded(store, n):
            return {"reused": True}
        with store.write() as conn:
            for table in ("outcomes", "reviews", "decision_reasons", "decisions", "queue_reasons", "tickets"):
                conn.execute(text(f"DELETE FROM {table}"))
        started = time.perf_counter()
        info = seed(store, n, days)
        info["total_seconds"] = round(time.perf_counter() - started, 1)
        return info
    finally:
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=100.0)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--drop", action="store_true", help="remove the SQLite file and the PostgreSQL database after")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"tickets": args.tickets, "days": args.days, "cpus": os.cpu_count()}
    for backend in args.backends.split(","):
        url = sqlite_url(args.tickets) if backend == "sqlite" else postgres_url()
        print(f"{backend}: seeding {args.tickets} tickets ...", flush=True)
        results[backend] = {"seed": prepare(url, args.tickets, args.days)}
        print(f"{backend}: {results[backend]['seed']}", flush=True)
        results[backend].update(measure(url, args))
        print(json.dumps({backend: results[backend]}, indent=2), flush=True)
        if args.drop:
            if backend == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            else:
                drop_postgres()
    (OUT / "metrics_scrape.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
