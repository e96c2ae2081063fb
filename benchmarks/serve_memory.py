"""Resident memory of `triage serve`: after ready, and after N requests, for one install of triage.

Starts the given `triage` executable (say, that of a serving-only venv, then that of the full one) on a bundle
with one worker, recording off and auth off, sends N single-ticket requests from the bundled export, and prints
the RSS of the server's process tree and whether any training-only library was mapped into it. Standard
library only, so any Python runs it.

    python benchmarks/serve_memory.py --triage /tmp/lean/bin/triage --model models/default
    python benchmarks/serve_memory.py --triage .venv/bin/triage --model models/default
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAINING_ONLY = ("torch", "transformers", "sentence_transformers", "matplotlib", "mlflow")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    todo, seen = [pid], []
    while todo:
        current = todo.pop()
        seen.append(current)
        todo.extend(children.get(current, []))
    return seen


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_mb(pid: int) -> float:
    """Resident memory of the process tree, MB."""
    return sum(_status_kb(p, "VmRSS") for p in _tree(pid) if Path(f"/proc/{p}").exists()) / 1024


def training_libraries_mapped(pid: int) -> list[str]:
    """Training-only packages whose files are mapped in any process of the tree."""
    found = set()
    for p in _tree(pid):
        try:
            maps = Path(f"/proc/{p}/maps").read_text()
        except OSError:
            continue
        found |= {name for name in TRAINING_ONLY if f"/site-packages/{name}/" in maps}
    return sorted(found)


def _tickets(n: int) -> list[dict[str, str]]:
    with gzip.open(ROOT / "datasets" / "helpdesk_tickets.csv.gz", "rt", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:n]
    return [{"subject": r["subject"], "body": r["body"]} for r in rows]


def _post(url: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return int(reply.status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triage", required=True, help="the triage executable of the install to measure")
    parser.add_argument("--model", default="models/default")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    env = {**os.environ, "TRIAGE_RECORD": "off"}
    command = [args.triage, "serve", "--model", args.model, "--port", str(args.port), "--workers", "1", "--no-auth"]
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{args.port}"
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server stopped: {server.stderr.read()[-2000:] if server.stderr else ''}")
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        ready_s = time.perf_counter() - started
        time.sleep(1.0)
        at_ready = rss_mb(server.pid)
        statuses = [_post(base + "/v1/triage", ticket) for ticket in _tickets(args.requests)]
        after = rss_mb(server.pid)
        result = {
            "triage": args.triage,
            "model": args.model,
            "ready_s": round(ready_s, 2),
            "rss_mb_ready": round(at_ready, 1),
            f"rss_mb_after_{args.requests}_requests": round(after, 1),
            "ok": sum(s == 200 for s in statuses),
            "training_libraries_mapped": training_libraries_mapped(server.pid),
        }
        print(json.dumps(result))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
