"""Resident memory of a real `triage serve` across many hot reloads of its bundle.

    python benchmarks/reload_memory.py [--model DIR] [--reloads 200] [--requests-per-reload 5]

Without --model, serves models/default (`make train`). Starts the service on a free loopback port with an
API key and an admin key, triages a few tickets between reloads (so worker threads allocate too), and
reloads the configured bundle with POST /v1/admin/reload --reloads times, reading the process's VmRSS from
/proc after each. The target: RSS after the last reload at most 50 MB above RSS after the first. Prints a
table and writes benchmarks/results/reload_memory.json. Only loopback traffic; every wait is bounded.
Exit code 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import ROOT, TRIAGE, free_port, rss_mb, wait_ready

KEY, ADMIN_KEY = "bench-key", "bench-admin-key"
BUDGET_MB = 50.0
TICKETS = [
    {"subject": "VPN keeps disconnecting", "body": "Since this morning the VPN drops every few minutes."},
    {"subject": "Printer on 3rd floor jams", "body": "<p>Paper jam again&nbsp;in the HR printer</p>"},
    {"subject": "Password reset", "body": "I am locked out of my account after the holidays."},
]


def serve(model: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TRIAGE_API_KEYS": json.dumps([KEY]),
        "TRIAGE_ADMIN_KEYS": json.dumps([ADMIN_KEY]),
        "TRIAGE_MODELS_ROOT": str(model.resolve().parent),
    }
    command = [TRIAGE, "serve", "--model", str(model), "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(model: Path, reloads: int, per_reload: int, every: int) -> dict[str, object]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(model, port)
    rows: list[dict[str, float]] = []
    try:
        start_s = wait_ready(base, time.perf_counter())
        with (
            httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=30) as client,
            httpx.Client(base_url=base, headers={"X-API-Key": ADMIN_KEY}, timeout=120) as admin,
        ):
            fresh = rss_mb(server.pid)
            for i in range(1, reloads + 1):
                for k in range(per_reload):
                    client.post("/v1/triage", json=TICKETS[k % len(TICKETS)]).raise_for_status()
                t = time.perf_counter()
                admin.post("/v1/admin/reload").raise_for_status()
                seconds = time.perf_counter() - t
                if i == 1 or i % every == 0 or i == reloads:
                    rows.append({"reloads": i, "rss_mb": round(rss_mb(server.pid), 1), "reload_s": round(seconds, 3)})
            version = client.get("/readyz").json()["model_version"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    first, last = rows[0]["rss_mb"], rows[-1]["rss_mb"]
    return {
        "model": str(model),
        "model_version": version,
        "start_to_ready_s": round(start_s, 2),
        "rss_fresh_mb": round(fresh, 1),
        "rss_after_first_reload_mb": first,
        "rss_after_last_reload_mb": last,
        "growth_mb": round(last - first, 1),
        "budget_mb": BUDGET_MB,
        "within_budget": last - first <= BUDGET_MB,
        "reloads": reloads,
        "requests_per_reload": per_reload,
        "samples": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--reloads", type=int, default=200)
    parser.add_argument("--requests-per-reload", type=int, default=5)
    parser.add_argument("--every", type=int, default=20, help="sample RSS every N reloads")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "reload_memory.json")
    args = parser.parse_args()
    if not (args.model / "manifest.json").is_file():
        raise SystemExit(f"{args.model}: no bundle; run `make train` or pass --model")
    result = measure(args.model, max(args.reloads, 1), args.requests_per_reload, max(args.every, 1))
    print(f"{'reloads':>8} {'RSS MB':>8} {'vs first':>9} {'reload s':>9}")
    print(f"{'fresh':>8} {result['rss_fresh_mb']:>8.1f}")
    for row in result["samples"]:  # type: ignore[attr-defined]
        delta = row["rss_mb"] - result["rss_after_first_reload_mb"]
        print(f"{row['reloads']:>8} {row['rss_mb']:>8.1f} {delta:>+9.1f} {row['reload_s']:>9.3f}")
    verdict = "within" if result["within_budget"] else "OVER"
    print(f"growth after the first reload: {result['growth_mb']:+.1f} MB ({verdict} the {BUDGET_MB:.0f} MB budget)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    if not result["within_budget"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
