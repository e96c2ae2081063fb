"""Load benchmark of a real `triage serve` over HTTP on this machine.

    python benchmarks/api_load.py [--model DIR] [--seconds 60]

Without --model, trains a Banking77 bundle first (through the CLI) into benchmarks/results/banking77-model.
Measures: process start to /readyz OK, single-ticket latency (one client, sequential, keep-alive), batch
throughput, resident memory of the serving process, 32 concurrent clients for --seconds (errors and p99),
and the served model's accuracy on the Banking77 test set. Only loopback traffic; every loop is bounded.
Results go to benchmarks/results/api_load.json.
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

import httpx
import numpy as np
import pandas as pd

from triage.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / get_settings().shared_data  # TRIAGE_SHARED_DATA; relative paths are taken from the repo
TRIAGE = str(Path(sys.executable).parent / "triage")
KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def wait_ready(base: str, started: float) -> float:
    """Seconds from ``started`` to the first /readyz 200 (polled every 20 ms, 60 s at most)."""
    with httpx.Client(base_url=base, timeout=5) as client:
        for _ in range(3000):
            try:
                if client.get("/readyz").status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise SystemExit("the service did not become ready within 60 s")


def start_server(model: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [TRIAGE, "serve", "--model", str(model), "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_times(model: Path, env: dict[str, str], runs: int) -> list[float]:
    """Cold process starts, each stopped once ready."""
    times = []
    for _ in range(runs):
        port = free_port()
        started = time.perf_counter()
        server = start_server(model, port, env)
        try:
            times.append(round(wait_ready(f"http://127.0.0.1:{port}", started), 2))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return times


def concurrent_load(url: str, texts: list[str], clients: int, seconds: float) -> dict[str, float]:
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
    return {
        "clients": clients,
        "seconds": seconds,
        "requests": len(latencies),
        "errors": errors[0],
        "requests_per_s": round(len(latencies) / seconds, 1),
        **percentiles(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--single", type=int, default=2000, help="sequential single-ticket requests")
    parser.add_argument("--starts", type=int, default=5, help="process starts to time")
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
    env = {**os.environ, "TRIAGE_API_KEYS": json.dumps([KEY]), "TRIAGE_MAX_BATCH": "512"}
    starts = start_times(model, env, args.starts)
    result: dict[str, object] = {
        "model": str(model),
        "start_to_ready_s": {"median": float(np.median(starts)), "max": max(starts), "runs": starts},
    }
    server = start_server(model, port, env)
    try:
        wait_ready(base, time.perf_counter())
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=30) as client:
            result["rss_after_start_mb"] = round(rss_mb(server.pid))
            for text in texts[:50]:  # warm-up
                client.post("/v1/triage", json={"body": text})
            single = []
            for text in texts[: args.single]:
                t = time.perf_counter()
                response = client.post("/v1/triage", json={"body": text})
                single.append((time.perf_counter() - t) * 1000)
                response.raise_for_status()
            result["single_ticket"] = percentiles(single)
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
        result["concurrent"] = concurrent_load(f"{base}/v1/triage", texts, 32, args.seconds)
        result["rss_after_load_mb"] = round(rss_mb(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "api_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
