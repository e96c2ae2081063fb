"""Load benchmark of a real `triage serve` over HTTP on this machine.

    python benchmarks/api_load.py [--model DIR] [--seconds 60]

Without --model, trains a Banking77 bundle first (through the CLI) into benchmarks/results/banking77-model.
Measures: process start to /readyz OK beside the floor (a fresh interpreter that imports the runtime, loads
the bundle and decides one ticket), single-ticket latency over HTTP (one client, sequential, keep-alive)
beside `Triager.decide` on the same cleaned texts in process, batch throughput, resident memory of the
serving process, 32 concurrent clients for --seconds with 1 and with 2 workers (--workers-compare), and the
served model's accuracy on the Banking77 test set. Only loopback traffic; every loop is bounded. Results go to
benchmarks/results/api_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pandas as pd
import rawhttp

from triage.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / get_settings().shared_data  # TRIAGE_SHARED_DATA; relative paths are taken from the repo
TRIAGE = str(Path(sys.executable).parent / "triage")
KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its live descendants (the workers of `serve --workers N`)."""
    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += tree_cpu_seconds(int(child))
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.array(ms)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p90_ms": round(float(np.percentile(a, 90)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
        "n": len(a),
    }


def wait_ready(base: str, started: float, process: subprocess.Popen[bytes] | None = None) -> float:
    """Seconds from ``started`` to the first /readyz 200 (polled every 20 ms, 120 s at most; at once an error
    when ``process`` exits first)."""
    with httpx.Client(base_url=base, timeout=5) as client:
        for _ in range(6000):
            if process is not None and process.poll() is not None:
                raise SystemExit(f"the service exited (code {process.returncode}) before it was ready")
            try:
                if client.get("/readyz").status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise SystemExit("the service did not become ready within 120 s")


def start_server(
    model: Path, port: int, env: dict[str, str], workers: int | None = 1, source: Path | None = None
) -> subprocess.Popen[bytes]:
    """``triage serve``; with ``source``, the ``triage`` package found there (an older copy) is served."""
    if source is not None:
        env = {**env, "PYTHONPATH": str(source)}
    command = [TRIAGE, "serve", "--model", str(model), "--port", str(port)]
    command += [] if workers is None else ["--workers", str(workers)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_times(model: Path, env: dict[str, str], runs: int, workers: int | None) -> list[float]:
    """Cold process starts, each stopped once ready."""
    times = []
    for _ in range(runs):
        port = free_port()
        started = time.perf_counter()
        server = start_server(model, port, env, workers)
        try:
            times.append(round(wait_ready(f"http://127.0.0.1:{port}", started), 2))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return times


FLOOR = """
import sys
from triage.decision import Triager
from triage.models import load_bundle
from triage.settings import get_settings
Triager.from_settings(load_bundle(sys.argv[1]), get_settings()).decide(["warm-up ticket"])
print("ready", flush=True)
sys.stdin.read()
"""


def floor_times(model: Path, env: dict[str, str], runs: int) -> list[float]:
    """The bare floor of a start: a fresh interpreter importing the runtime, loading and verifying the bundle
    and deciding one ticket (what the service does before it is ready), timed to its "ready" line."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", FLOOR, str(model)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            line = process.stdout.readline() if process.stdout is not None else ""
            if line.strip() != "ready":
                raise SystemExit("the floor process did not load the bundle")
            times.append(round(time.perf_counter() - started, 2))
        finally:
            process.kill()
            process.wait(timeout=30)
    return times


def in_process(model: Path, texts: list[str], idle_ms: float = 0.0) -> dict[str, float]:
    """`Triager.decide` on one cleaned ticket at a time, in this process, as the service calls it; ``cpu_p50_ms``
    is the thread's CPU time per call (on a shared machine a call is often preempted: wall time then says more
    about the load than about the code). ``idle_ms``: this long asleep before each call, as a service waits
    for its next request between two answers (back to back, the model's working set stays in the caches)."""
    from threadpoolctl import threadpool_limits

    from triage.data.cleaning import prepare_parts
    from triage.decision import Triager
    from triage.models import load_bundle

    threadpool_limits(limits=1, user_api="blas")  # as the service runs
    triager = Triager.from_settings(load_bundle(model), get_settings())
    cleaned = [prepare_parts("", text, max_chars=get_settings().max_text_chars).text for text in texts]
    for text in cleaned[:50]:
        triager.decide([text])
    latencies, cpu = [], []
    for text in cleaned:
        if idle_ms:
            time.sleep(idle_ms / 1000)
        started, started_cpu = time.perf_counter(), time.thread_time()
        triager.decide([text])
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return {
        **percentiles(latencies),
        "cpu_p50_ms": round(float(np.median(cpu)), 3),
        "cpu_mean_ms": round(float(np.mean(cpu)), 3),  # to set beside the server's CPU per request (a mean)
    }


def single_ticket_http(
    base: str, texts: list[str], server_pid: int | None = None, client: str = "raw"
) -> dict[str, float]:
    """One client, one request at a time (keep-alive); with ``server_pid``, the server's and this client's CPU
    time per request too (the client runs on the same cores). ``client``: ``raw`` (prebuilt requests on a
    socket, rawhttp.py) or ``httpx``."""
    address = urlsplit(base)
    host, port = str(address.hostname), int(address.port or 80)
    if client == "raw":
        connection = rawhttp.Connection(host, port)
        requests = [rawhttp.post_request(host, port, "/v1/triage", {"body": text}, KEY) for text in texts]

        def send(i: int) -> int:
            return connection.exchange(requests[i])[0]

        close = connection.close
    else:
        session = httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=30)

        def send(i: int) -> int:
            return session.post("/v1/triage", json={"body": texts[i]}).status_code

        close = session.close
    try:
        for i in range(min(50, len(texts))):  # warm-up
            send(i)
        single = []
        server_cpu = cpu_seconds(server_pid) if server_pid else 0.0
        client_cpu = time.process_time()
        for i in range(len(texts)):
            t = time.perf_counter()
            status = send(i)
            single.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise SystemExit(f"POST /v1/triage answered {status}")
        client_cpu = time.process_time() - client_cpu
        server_cpu = cpu_seconds(server_pid) - server_cpu if server_pid else float("nan")
    finally:
        close()
    result: dict[str, float] = percentiles(single)
    result["client_cpu_ms_per_request"] = round(client_cpu / len(texts) * 1000, 3)
    if server_pid:
        result["server_cpu_ms_per_request"] = round(server_cpu / len(texts) * 1000, 3)
    return result


def http_side_by_side(
    model: Path, env: dict[str, str], texts: list[str], baseline: Path, seconds: float, rounds: int = 2
) -> dict[str, object]:
    """This tree's service beside ``baseline``'s (an older ``triage`` package), one worker each, in turn,
    ``rounds`` times, so that both see the same machine: single tickets over HTTP, then 32 clients for
    ``seconds``."""
    runs: dict[str, list[dict[str, float | str]]] = {"baseline": [], "this tree": []}
    for _ in range(rounds):
        for label, source in (("baseline", baseline), ("this tree", None)):
            port = free_port()
            server = start_server(model, port, env, source=source)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_ready(base, time.perf_counter(), server)
                single = single_ticket_http(base, texts, server.pid)
                load = concurrent_load(f"{base}/v1/triage", texts, 32, seconds)
                runs[label].append({**single, "requests_per_s_32_clients": load["requests_per_s"]})
            finally:
                server.terminate()
                server.wait(timeout=30)
    keys = ("p50_ms", "server_cpu_ms_per_request", "requests_per_s_32_clients")
    return {label: {key: [r[key] for r in done] for key in keys} for label, done in runs.items()}


def throughput(
    model: Path, env: dict[str, str], texts: list[str], workers: int, seconds: float, client: str = "raw"
) -> dict[str, float | str]:
    """32 concurrent clients against a service with ``workers`` worker processes."""
    port = free_port()
    server = start_server(model, port, env, workers)
    try:
        wait_ready(f"http://127.0.0.1:{port}", time.perf_counter())
        time.sleep(2.0 if workers > 1 else 0.0)  # every worker ready, not only the first
        cpu = tree_cpu_seconds(server.pid)
        load = concurrent_load(f"http://127.0.0.1:{port}/v1/triage", texts, 32, seconds, client)
        cpu = tree_cpu_seconds(server.pid) - cpu
        per_request = round(cpu / max(1, int(load["requests"])) * 1000, 3)
        return {"workers": workers, **load, "server_cpu_ms_per_request": per_request}
    finally:
        server.terminate()
        server.wait(timeout=30)


def concurrent_load(
    url: str, texts: list[str], clients: int, seconds: float, client: str = "raw"
) -> dict[str, float | str]:
    """``clients`` clients sending one ticket after another for ``seconds``: ``raw`` (rawhttp.py, one asyncio
    thread, a few tens of microseconds of CPU per request) or ``httpx`` (a thread and a client each)."""
    if client == "raw":
        address = urlsplit(url)
        host, port = str(address.hostname), int(address.port or 80)
        requests = [rawhttp.post_request(host, port, address.path, {"body": text}, KEY) for text in texts]
        cpu = time.process_time()
        latencies, failed = rawhttp.concurrent(host, port, requests, clients, seconds)
    else:
        cpu = time.process_time()
        latencies, failed = httpx_load(url, texts, clients, seconds)
    cpu = time.process_time() - cpu
    return {
        "client": client,
        "clients": clients,
        "seconds": seconds,
        "requests": len(latencies),
        "errors": failed,
        "requests_per_s": round(len(latencies) / seconds, 1),
        "client_cpu_ms_per_request": round(cpu / max(len(latencies), 1) * 1000, 3),
        **percentiles(latencies),
    }


def httpx_load(url: str, texts: list[str], clients: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        with httpx.Client(headers={"X-API-Key": KEY}, timeout=10) as client:
            i = offset
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    ok = client.post(url, json={"body": texts[i % len(texts)]}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
                    errors[0] += 0 if ok else 1
                i += clients

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--single", type=int, default=2000, help="sequential single-ticket requests")
    parser.add_argument("--starts", type=int, default=5, help="process starts to time")
    parser.add_argument(
        "--workers-compare", default="1,2", help="worker counts for the concurrent test, side by side ('' skips)"
    )
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw", help="the load client of the concurrent tests"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a folder holding an older triage package: its single tickets and 32 clients (1 worker), in turn",
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the --baseline comparison")
    parser.add_argument("--only-baseline", action="store_true", help="measure only the --baseline comparison")
    args = parser.parse_args()
    test_file = SHARED / "banking77" / "test.csv"
    if not test_file.is_file():
        print(f"skipping: {test_file} not found (set TRIAGE_SHARED_DATA)")
        return
    test = pd.read_csv(test_file)
    texts = test["text"].tolist()
    model = args.model or ROOT / "benchmarks" / "results" / "banking77-model"
    if not (model / "manifest.json").is_file():
        subprocess.run(
            [
                TRIAGE,
                "train",
                str(SHARED / "banking77" / "train.csv"),
                "--out",
                str(model),
                "--holdout",
                "0",
                "--no-mlflow",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # the web layer and the model, without the store (its cost is measured by benchmarks/desk_load.py)
    env = {**os.environ, "TRIAGE_API_KEYS": json.dumps([KEY]), "TRIAGE_MAX_BATCH": "512", "TRIAGE_RECORD": "off"}
    if args.only_baseline:
        if args.baseline is None:
            parser.error("--only-baseline needs --baseline")
        compared = http_side_by_side(model, env, texts[: args.single], args.baseline, args.seconds, args.rounds)
        print(json.dumps({"model": str(model), "single_ticket_vs_baseline": compared}, indent=2))
        return
    floors, starts, default_starts = [], [], []
    for _ in range(args.starts):  # in turn, so that all three see the same machine
        floors += floor_times(model, env, 1)
        starts += start_times(model, env, 1, workers=1)
        default_starts += start_times(model, env, 1, workers=None)
    floor = float(np.median(floors))
    result: dict[str, object] = {
        "model": str(model),
        "floor_s": {"median": floor, "runs": floors},
        "start_to_ready_s": {"median": float(np.median(starts)), "max": max(starts), "runs": starts, "workers": 1},
        "start_to_ready_default_workers_s": {"median": float(np.median(default_starts)), "runs": default_starts},
        "start_over_floor": round(float(np.median(starts)) / floor, 2),
    }
    server = start_server(model, port, env)
    try:
        wait_ready(base, time.perf_counter())
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=30) as client:
            result["rss_after_start_mb"] = round(rss_mb(server.pid))
            # side by side: the same texts in process (this process, the server idle) and over HTTP
            inside = result["in_process_single_ticket"] = in_process(model, texts[: args.single])
            # the same with a pause before each call, as the server has between two requests of one client
            idle = result["in_process_single_ticket_idle_2ms"] = in_process(model, texts[: args.single], 2.0)
            http = result["single_ticket"] = single_ticket_http(base, texts[: args.single], server.pid)
            result["http_minus_in_process_idle_p50_ms"] = round(http["p50_ms"] - idle["p50_ms"], 2)
            result["http_minus_in_process_p50_ms"] = round(http["p50_ms"] - inside["p50_ms"], 2)
            # the same with httpx as the client (its own CPU lands in the latency on this machine)
            with_httpx = single_ticket_http(base, texts[: args.single], server.pid, "httpx")
            result["single_ticket_httpx"] = with_httpx
            result["http_minus_in_process_p50_ms_httpx"] = round(with_httpx["p50_ms"] - inside["p50_ms"], 2)
            # the web layer's own CPU per request in the server: what the model does not account for (means:
            # the server's CPU is a total over the requests; a few long tickets pull the mean above the median)
            result["server_cpu_minus_in_process_ms"] = round(
                http["server_cpu_ms_per_request"] - inside["cpu_mean_ms"], 3
            )
            predicted: list[str] = []
            for size in (64, 256):
                t = time.perf_counter()
                predicted = []
                for start in range(0, len(texts), size):
                    tickets = [{"body": x} for x in texts[start : start + size]]
                    body = client.post("/v1/triage/batch", json={"tickets": tickets}).json()
                    predicted += [r["result"]["heads"]["category"]["label"] for r in body["results"]]
                result[f"batch_{size}_tickets_per_s"] = round(len(texts) / (time.perf_counter() - t), 1)
            result["served_accuracy"] = round(float(np.mean(np.array(predicted) == test["category"].to_numpy())), 4)
        result["concurrent"] = concurrent_load(f"{base}/v1/triage", texts, 32, args.seconds, args.client)
        result["rss_after_load_mb"] = round(rss_mb(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.baseline is not None:
        try:
            result["single_ticket_vs_baseline"] = http_side_by_side(
                model, env, texts[: args.single], args.baseline, args.seconds, args.rounds
            )
        except SystemExit as exc:  # e.g. the older copy cannot read this bundle: the other figures still count
            result["single_ticket_vs_baseline"] = {"error": str(exc)}
    counts = [int(n) for n in args.workers_compare.split(",") if n.strip()]
    if counts:
        runs = [throughput(model, env, texts, n, args.seconds, args.client) for n in counts]
        result["concurrent_by_workers"] = runs
        if len(runs) == 2:
            result["speedup"] = round(float(runs[1]["requests_per_s"]) / float(runs[0]["requests_per_s"]), 2)
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "api_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
