"""Review desk under load (issue 12), on SQLite and on PostgreSQL, through a real `triage serve` on loopback.

    python benchmarks/desk_load.py [--tickets 100000] [--work 2000] [--agents 8] [--backends sqlite,postgresql]

For each backend: (1) a store of --tickets tickets, seeded through Recorder.record_many with the real decisions
of models/default on datasets/helpdesk_tickets.csv.gz (texts reused cyclically under new ids; ~90 % deferred),
then GET /review (queue page) and a review submit (POST /review/t/{id}, the redirect not followed) timed by
one signed-in agent, client-side round trip on loopback (so server time plus ~1 ms of loopback/httpx);
(2) a second store of --work deferred tickets worked by --agents threads (httpx, each signs in, claims next,
submits, until the queue is empty), then checked in the database: each ticket reviewed exactly once;
(3) p50 of single-ticket POST /v1/triage on a recording service (the 100k store) and on a TRIAGE_RECORD=off
service, requests alternating between the two. PostgreSQL is ANALYZEd after each seed (autovacuum would do it
in production; without it the planner expects 89 waiting tickets, not 90,000). PostgreSQL runs in a schema of
its own (dropped at the end).
Loopback only; every loop is bounded. Results: benchmarks/results/desk_load.json (service logs beside it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd
from adversarial import wait_ready
from api_load import KEY, ROOT, TRIAGE, free_port
from sqlalchemy import text

from triage.data.cleaning import prepare_text
from triage.decision import Decision, Outcome, Triager
from triage.models import load_bundle
from triage.store import Recorder, Store, TicketRecord
from triage.store.engine import make_engine
from triage.store.types import utcnow

PG_URL = os.environ.get("TRIAGE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OUT = ROOT / "benchmarks" / "results"
WORK = OUT / "desk_load-tmp"
MODEL = ROOT / "models" / "default"
PASSWORD = "bench-password-123"
SECRET = "a benchmark secret of the desk, long enough"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def stats(ms: list[float]) -> dict[str, float]:
    a = np.array(ms)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
        "max_ms": round(float(a.max()), 2),
        "n": len(a),
    }


def decided(limit: int) -> tuple[list[tuple[TicketRecord, Decision]], list[tuple[TicketRecord, Decision]]]:
    """Real decisions of the bundle on the export's texts: (deferred, routed)."""
    frame = pd.read_csv(ROOT / "datasets" / "helpdesk_tickets.csv.gz").head(limit)
    triager = Triager(load_bundle(MODEL))
    texts = [prepare_text(s, b)[0] for s, b in zip(frame["subject"], frame["body"], strict=True)]
    decisions = triager.decide(texts)
    deferred: list[tuple[TicketRecord, Decision]] = []
    routed: list[tuple[TicketRecord, Decision]] = []
    for (_, row), decision in zip(frame.iterrows(), decisions, strict=True):
        record = TicketRecord.from_request(
            id=row["id"], subject=row["subject"], body=row["body"], channel=row["channel"]
        )
        (deferred if decision.outcome == Outcome.NEEDS_REVIEW else routed).append((record, decision))
    return deferred, routed


def seed(url: str, n: int, deferred: list, routed: list, share_deferred: float, prefix: str) -> float:
    """``n`` tickets (new ids, texts and decisions reused), batches of 2,000, received a minute apart each."""
    store = Store(make_engine(url))
    recorder = Recorder(store, wait=30)
    started = time.perf_counter()
    start = utcnow() - timedelta(minutes=n + 10)
    batch = 2000
    n_def = 0
    for b in range(0, n, batch):
        items = []
        for i in range(b, min(b + batch, n)):
            use_def = not routed or (n_def < share_deferred * (i + 1))
            pool = deferred if use_def else routed
            n_def += use_def
            record, decision = pool[i % len(pool)]
            items.append((dataclasses.replace(record, id=f"{prefix}{i:07d}"), decision))
        if not recorder.record_many(items, received_at=start + timedelta(minutes=b)):
            raise SystemExit(f"seeding failed: {recorder.last_error}")
    if store.dialect == "postgresql":  # fresh statistics after a bulk load, as autovacuum's analyze gives
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE tickets, decisions, decision_reasons, queue_reasons, queue_counts"))
    store.dispose()
    return round(time.perf_counter() - started, 1)


def cli(args: list[str], url: str, stdin: str | None = None) -> None:
    env = {**os.environ, "TRIAGE_DATABASE_URL": url}
    subprocess.run([TRIAGE, *args, "--url", url], input=stdin, text=True, check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def serve(url: str, log: Path, record: bool = True) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "TRIAGE_API_KEYS": json.dumps([KEY]),
        "TRIAGE_DATABASE_URL": url,
        "TRIAGE_DESK_SECRET": SECRET,
        "TRIAGE_RECORD": "on" if record else "off",
    }
    with log.open("wb") as out:
        server = subprocess.Popen([TRIAGE, "serve", "--model", str(MODEL), "--port", str(port)], env=env,
                                  stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, base, log)
    except Exception:
        stop(server)
        raise
    return server, base


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def csrf(html: str) -> str:
    m = CSRF.search(html)
    if not m:
        raise RuntimeError(f"no CSRF token: {html[:300]}")
    return m.group(1)


def sign_in(client: httpx.Client, name: str) -> str:
    token = csrf(client.get("/review/login").text)
    r = client.post("/review/login", data={"csrf": token, "name": name, "password": PASSWORD})
    if r.status_code != 303 and r.status_code != 302:
        raise RuntimeError(f"sign-in of {name}: {r.status_code} {r.text[:300]}")
    page = client.get("/review")
    page.raise_for_status()
    return csrf(page.text)


def ticket_of(location: str | None) -> str | None:
    if not location or "/review/t/" not in location:
        return None
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(location).path.removeprefix("/review/t/"))


def open_ticket(client: httpx.Client, ticket_id: str) -> tuple[str, str]:
    page = client.get(f"/review/t/{quote(ticket_id, safe='')}")
    page.raise_for_status()
    m = VERSION.search(page.text)
    if not m:
        raise RuntimeError(f"ticket {ticket_id} not editable: {page.text[:300]}")
    return csrf(page.text), m.group(1)


FILTERED = [True]  # time the queue page filtered by reason too (--no-filtered: not)
STEP = ["start"]  # the step desk_timings is at (named in its error)


def desk_timings(base: str, queue_n: int, submit_n: int) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        token = sign_in(client, "timer")
        STEP[0] = "queue page"
        for _ in range(5):
            client.get("/review").raise_for_status()
        queue_ms = []
        for _ in range(queue_n):
            t = time.perf_counter()
            r = client.get("/review")
            queue_ms.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
        size = len(r.content)
        filtered_ms = []
        STEP[0] = "filtered queue page"
        for _ in range(max(queue_n // 2, 1) if FILTERED[0] else 0):
            t = time.perf_counter()
            r = client.get("/review", params={"reason": "low_confidence", "head": "category"})
            filtered_ms.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
        next_ms: list[float] = []
        open_ms: list[float] = []
        submit_ms: list[float] = []
        statuses: dict[int, int] = {}
        STEP[0] = "claim next / open / submit"
        t = time.perf_counter()
        r = client.post("/review/next", data={"csrf": token})
        next_ms.append((time.perf_counter() - t) * 1000)
        current = ticket_of(r.headers.get("location"))
        for _ in range(submit_n + 5):
            if current is None:
                break
            t = time.perf_counter()
            token, version = open_ticket(client, current)
            open_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            r = client.post(f"/review/t/{quote(current, safe='')}",
                            data={"csrf": token, "version": version, "action": "accept"})  # fmt: skip
            submit_ms.append((time.perf_counter() - t) * 1000)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            current = ticket_of(r.headers.get("location"))
        return {
            "queue_page": {**stats(queue_ms), "bytes": size},
            "queue_page_filtered_low_confidence_category": stats(filtered_ms) if filtered_ms else None,
            "submit_accept_and_claim_next": {**stats(submit_ms[5:]), "statuses": statuses},
            "open_ticket_page": stats(open_ms[5:]),
            "first_next_ms": round(next_ms[0], 2),
        }


def work_queue(base: str, agents: int, limit: int) -> dict[str, Any]:
    """``agents`` threads sign in and claim/submit until the queue is empty (at most ``limit`` steps each)."""
    lock = threading.Lock()
    submitted: list[tuple[str, str]] = []
    problems: list[str] = []
    statuses: dict[int, int] = {}
    submit_ms: list[float] = []
    barrier = threading.Barrier(agents)

    def agent(k: int) -> None:
        name = f"agent{k}"
        try:
            with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
                token = sign_in(client, name)
                barrier.wait(timeout=120)
                r = client.post("/review/next", data={"csrf": token})
                current = ticket_of(r.headers.get("location"))
                for _ in range(limit):
                    if current is None:
                        return
                    token, version = open_ticket(client, current)
                    t = time.perf_counter()
                    r = client.post(f"/review/t/{quote(current, safe='')}",
                                    data={"csrf": token, "version": version, "action": "accept"})  # fmt: skip
                    ms = (time.perf_counter() - t) * 1000
                    with lock:
                        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                        submit_ms.append(ms)
                        if r.status_code == 303:
                            submitted.append((name, current))
                    if r.status_code != 303:
                        with lock:
                            problems.append(f"{name} {current}: {r.status_code} {r.text[:200]}")
                        r = client.post("/review/next", data={"csrf": token})
                    current = ticket_of(r.headers.get("location"))
        except Exception as exc:  # recorded, never silent
            with lock:
                problems.append(f"{name}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=agent, args=(k,)) for k in range(agents)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=1800)
    seconds = time.perf_counter() - started
    ids = [i for _, i in submitted]
    per_agent: dict[str, int] = {}
    for name, _ in submitted:
        per_agent[name] = per_agent.get(name, 0) + 1
    return {
        "agents": agents,
        "seconds": round(seconds, 1),
        "reviews_per_s": round(len(ids) / seconds, 1),
        "submits_ok": len(ids),
        "distinct_submitted": len(set(ids)),
        "per_agent": per_agent,
        "statuses": statuses,
        "submit": stats(submit_ms) if submit_ms else None,
        "problems": problems[:20],
        "n_problems": len(problems),
        "threads_alive": sum(th.is_alive() for th in threads),
    }


def verify(url: str, n: int) -> dict[str, Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        q = lambda s: conn.execute(text(s)).scalar()  # noqa: E731
        out = {
            "tickets": q("SELECT count(*) FROM tickets"),
            "reviewed": q("SELECT count(*) FROM tickets WHERE reviewed_at IS NOT NULL"),
            "unreviewed": q("SELECT count(*) FROM tickets WHERE reviewed_at IS NULL"),
            "reviews": q("SELECT count(*) FROM reviews"),
            "tickets_with_review": q("SELECT count(DISTINCT ticket_id) FROM reviews"),
            "tickets_reviewed_twice": q(
                "SELECT count(*) FROM (SELECT ticket_id FROM reviews GROUP BY ticket_id HAVING count(*) > 1) x"
            ),
            "still_claimed_unreviewed": q(
                "SELECT count(*) FROM tickets WHERE claimed_by IS NOT NULL AND reviewed_at IS NULL"
            ),
        }
    engine.dispose()
    out["exactly_once"] = out["reviews"] == n == out["tickets_with_review"] == out["reviewed"] and (
        out["tickets_reviewed_twice"] == 0
    )
    return out


def recording_overhead(base_on: str, base_off: str, texts: list[str], n: int) -> dict[str, Any]:
    on: list[float] = []
    off: list[float] = []
    with (
        httpx.Client(base_url=base_on, headers={"X-API-Key": KEY}, timeout=30) as a,
        httpx.Client(base_url=base_off, headers={"X-API-Key": KEY}, timeout=30) as b,
    ):
        recorded = set()
        for i in range(n + 50):
            body = {"subject": "ticket", "body": texts[i % len(texts)]}
            pair = [(a, on), (b, off)] if i % 2 == 0 else [(b, off), (a, on)]
            for client, sink in pair:
                t = time.perf_counter()
                r = client.post("/v1/triage", json=body)
                ms = (time.perf_counter() - t) * 1000
                r.raise_for_status()
                if i >= 50:
                    sink.append(ms)
                    if client is a:
                        recorded.add(r.json().get("recorded"))
    p_on, p_off = stats(on), stats(off)
    return {"on": p_on, "off": p_off, "ratio_p50": round(p_on["p50_ms"] / p_off["p50_ms"], 3),
            "recorded_values_on": sorted(map(str, recorded))}  # fmt: skip


def run_backend(backend: str, args: argparse.Namespace, deferred: list, routed: list, texts: list[str]) -> dict:
    result: dict[str, Any] = {"backend": backend}
    cleanup: list[str] = []
    if backend == "sqlite":
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        big, small = f"sqlite:///{WORK / 'big.db'}", f"sqlite:///{WORK / 'work.db'}"
    else:
        admin = make_engine(PG_URL)
        names = [f"desk_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
        admin.dispose()
        cleanup = names
        big, small = (f"{PG_URL}?options={quote(f'-csearch_path={name}')}" for name in names)
    try:
        for url in (big, small):
            cli(["db", "upgrade"], url)
        result["seed_s"] = seed(big, args.tickets, deferred, routed, 0.9, "BENCH")
        cli(["agents", "add", "timer", "--password-stdin"], big, PASSWORD + "\n")
        print(f"[{backend}] seeded {args.tickets} in {result['seed_s']} s", flush=True)
        server, base = serve(big, OUT / f"desk_load-{backend}-big.log")
        server_off = None
        try:
            if not args.skip_desk:
                try:
                    result["desk_100k"] = desk_timings(base, args.queue_samples, args.submit_samples)
                except httpx.HTTPError as exc:  # e.g. a queue page slower than the client's timeout
                    result["desk_100k"] = {"error": f"{type(exc).__name__}: {exc}", "step": STEP[0]}
            print(f"[{backend}] desk timings {json.dumps(result.get('desk_100k'))}", flush=True)
            server_off, base_off = serve(big, OUT / f"desk_load-{backend}-off.log", record=False)
            result["recording"] = recording_overhead(base, base_off, texts, args.single)
            print(f"[{backend}] recording {json.dumps(result['recording'])}", flush=True)
        finally:
            stop(server)
            if server_off is not None:
                stop(server_off)
        result["work_seed_s"] = seed(small, args.work, deferred, [], 1.0, "WORK")
        for k in range(args.agents):
            cli(["agents", "add", f"agent{k}", "--password-stdin"], small, PASSWORD + "\n")
        server, base = serve(small, OUT / f"desk_load-{backend}-work.log")
        try:
            result["agents_work"] = work_queue(base, args.agents, args.work + 10)
        finally:
            stop(server)
        result["agents_verify"] = verify(small, args.work)
        print(f"[{backend}] agents {json.dumps(result['agents_work'])} {json.dumps(result['agents_verify'])}")
    finally:
        if cleanup:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                for name in cleanup:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            admin.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--work", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--queue-samples", type=int, default=200)
    parser.add_argument("--submit-samples", type=int, default=300)
    parser.add_argument("--single", type=int, default=500, help="alternating pairs of recording on/off requests")
    parser.add_argument("--decide", type=int, default=6000, help="export rows decided by the bundle for the seed")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--skip-desk", action="store_true", help="skip the queue/submit timings on the big store")
    parser.add_argument("--out", default="desk_load.json")
    parser.add_argument("--no-filtered", action="store_true", help="skip the reason-filtered queue page")
    args = parser.parse_args()
    FILTERED[0] = not args.no_filtered
    OUT.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    deferred, routed = decided(args.decide)
    texts = [r.body or "" for r, _ in deferred + routed][:2000]
    print(f"decided {len(deferred)} deferred + {len(routed)} routed in {time.perf_counter() - t:.1f} s", flush=True)
    results: dict[str, Any] = {"args": vars(args), "timing": "client-side round trip over loopback to triage serve"}
    for backend in args.backends.split(","):
        try:
            results[backend] = run_backend(backend, args, deferred, routed, texts)
        except Exception as exc:
            results[backend] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            print(f"[{backend}] FAILED {results[backend]['error']}", flush=True)
        (OUT / args.out).write_text(json.dumps(results, indent=2, default=str))
    print(f"{'backend':<11}{'queue p95':>11}{'submit p95':>12}{'rec on p50':>12}{'off p50':>9}{'ratio':>7}"
          f"{'agents ok':>11}{'once':>6}")  # fmt: skip
    for backend in args.backends.split(","):
        r = results[backend]
        if "error" in r and "desk_100k" not in r:
            print(f"{backend:<11} error: {r['error'][:100]}")
            continue
        d, rec = r.get("desk_100k", {}), r.get("recording", {})
        aw, av = r.get("agents_work", {}), r.get("agents_verify", {})
        print(
            f"{backend:<11}{d.get('queue_page', {}).get('p95_ms', '-'):>11}"
            f"{d.get('submit_accept_and_claim_next', {}).get('p95_ms', '-'):>12}"
            f"{rec.get('on', {}).get('p50_ms', '-'):>12}{rec.get('off', {}).get('p50_ms', '-'):>9}"
            f"{rec.get('ratio_p50', '-'):>7}{aw.get('submits_ok', '-'):>11}"
            f"{av.get('exactly_once', '-')!s:>6}"
        )


if __name__ == "__main__":
    main()
