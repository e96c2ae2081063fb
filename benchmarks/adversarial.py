"""Hostile tickets: cleaning time in process, and a real `triage serve` answering them while staying responsive.

    python benchmarks/adversarial.py [--model models/default] [--seconds 5] [--in-process-only]

Each input is one POST /v1/triage body of about 2 MB (just under the 2,000,000-byte request limit; subject and
body at most 1,000,000 characters each): runs of "<a", deeply nested tags, entity runs (double-escaped, and
escaped tag starts), whitespace runs (also after a sign-off), thousands of quote markers and reply headers,
mixed scripts, unclosed comments and scripts, bare "<". Every body starts with a real sentence so that the
service answers 200. Measures (a) `prepare_text` time per input in this process; (b) each input's answer time
from the service, sequentially (target <= 0.5 s); (c) /healthz latency sampled every 10 ms for --seconds while
four such requests are in flight at once (target p99 <= 50 ms), next to the same sampling of an idle service
and of one kept busy with 2 MB of ordinary text (the control: what any request of that size costs).
Loopback only; every loop is bounded. Results go to benchmarks/results/adversarial.json (the service's log
beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from api_load import KEY, ROOT, TRIAGE, free_port, percentiles

from triage.data.cleaning import prepare_text

REQUEST_BYTES = 1_990_000  # the service answers 413 above 2,000,000 bytes; room for the JSON around the fields
FIELD_CHARS = 1_000_000  # TicketIn.subject and .body
LEAD = "Printer on 3rd floor jams since this morning. "
CONCURRENT = 4
HEALTH_EVERY_S = 0.01
CONTROL = "plain_text (control)"


def fill(piece: str, budget_bytes: int, max_chars: int = FIELD_CHARS) -> str:
    """``piece`` repeated to at most ``budget_bytes`` of JSON (UTF-8) and ``max_chars`` characters."""
    size = len(json.dumps(piece, ensure_ascii=False).encode()) - 2
    return piece * min(budget_bytes // size, max_chars // len(piece))


def repeated(subject_piece: str, body_piece: str, *, head: str = "", tail: str = "") -> dict[str, str]:
    """A ticket whose subject and body are runs of the pieces, between ``head`` and ``tail`` (the body after LEAD)."""
    half = REQUEST_BYTES // 2 - 200
    room = FIELD_CHARS - len(LEAD) - len(head) - len(tail)
    return {
        "subject": head + fill(subject_piece, half, room) + tail,
        "body": LEAD + head + fill(body_piece, half, room) + tail,
    }


def nested(opening: str, closing: str, middle: str) -> str:
    depth = min(REQUEST_BYTES // 2 - 200, FIELD_CHARS - 100) // (len(opening) + len(closing))
    return opening * depth + middle + closing * depth


def inputs() -> dict[str, dict[str, str]]:
    return {
        "tag_starts": repeated("<a", "<a"),
        "nested_tags": {
            "subject": nested("<div><span>", "</span></div>", "VPN down"),
            "body": LEAD + nested("<b>", "</b>", "deep"),
        },
        "entity_runs": repeated("&amp;lt;", "&lt;a"),  # double-escaped; escaped "<a" that unescape turns into tags
        # a sign-off, then whitespace: the old sign-off pattern backtracked quadratically over such a line
        "whitespace_runs": repeated(" \t\u00a0\u2003", " ", head="VPN\nthanks", tail="x"),
        "quote_markers": repeated("\n> ok\nOn Mon, 3 Jun 2024, Bob <bob@x.org> wrote:", "\n> "),
        # lines that nearly match a reply header, so that every line costs the most backtracking
        "reply_headers": repeated("\nAm " + "schrieb " * 40, "\nOn " + "wrote " * 40 + "x"),
        "mixed_scripts": repeated(
            "Привет 你好 مرحبا שלום नमस्ते 😀 <b>Drucker</b> &eacute; ", "Ünïcödé ελληνικά 日本語 "
        ),
        "unclosed_constructs": repeated("<!--", "<script>"),
        "bare_angles": repeated("<", "<a>"),
    }


def control() -> dict[str, str]:
    """As large as the hostile inputs, but ordinary text: what any 2 MB request costs."""
    return repeated("The printer on the third floor jams. ", "Since this morning the VPN drops every few minutes. ")


def in_process(cases: dict[str, dict[str, str]], runs: int = 3) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for name, ticket in cases.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            text, cut = prepare_text(ticket["subject"], ticket["body"])
            times.append((time.perf_counter() - started) * 1000)
        rows[name] = {
            "request_bytes": len(json.dumps(ticket, ensure_ascii=False).encode()),
            "subject_chars": len(ticket["subject"]),
            "body_chars": len(ticket["body"]),
            "prepare_ms_median": round(statistics.median(times), 1),
            "prepare_ms_max": round(max(times), 1),
            "cleaned_chars": len(text),
            "cut": cut,
        }
    return rows


def wait_ready(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    """Poll /readyz every 20 ms for 90 s at most; stop early, with the log's tail, when the process exits."""
    with httpx.Client(base_url=base, timeout=5) as client:
        for _ in range(4500):
            if server.poll() is not None:
                raise RuntimeError(f"the service exited ({server.returncode}):\n{log.read_text()[-2000:]}")
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise RuntimeError(f"the service was not ready within 90 s:\n{log.read_text()[-2000:]}")


def sample_health(base: str, seconds: float) -> tuple[list[float], int]:
    """/healthz latencies (ms), one request every HEALTH_EVERY_S for ``seconds``; and the number of failures."""
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(int(seconds / HEALTH_EVERY_S) + 1):
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            try:
                ok = client.get("/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            failures += 0 if ok else 1
            time.sleep(max(0.0, HEALTH_EVERY_S - (time.perf_counter() - started)))
    return latencies, failures


def post(client: httpx.Client, payload: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        status = client.post("/v1/triage", content=payload, headers={"Content-Type": "application/json"}).status_code
    except httpx.HTTPError:
        status = 0
    return (time.perf_counter() - started) * 1000, status


def against_service(model: Path, bodies: dict[str, bytes], seconds: float, repeats: int, log: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TRIAGE_API_KEYS": json.dumps([KEY])}
    command = [TRIAGE, "serve", "--model", str(model), "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(server, base, log)
        result: dict[str, Any] = {}
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=60) as client:
            for _ in range(5):  # warm-up
                client.post("/v1/triage", json={"body": LEAD})
            answers: dict[str, dict[str, object]] = {}
            for name, payload in bodies.items():
                runs = [post(client, payload) for _ in range(repeats)]
                answers[name] = {
                    "answer_ms_median": round(statistics.median(ms for ms, _ in runs), 1),
                    "answer_ms_max": round(max(ms for ms, _ in runs), 1),
                    "status": sorted({status for _, status in runs}),
                }
            result["answers"] = answers
        idle, idle_failures = sample_health(base, seconds)
        result["healthz_idle"] = {**percentiles(idle), "max_ms": round(max(idle), 2), "failures": idle_failures}
        hostile = [payload for name, payload in bodies.items() if name != CONTROL]
        result["healthz_under_load"] = under_load(base, hostile, seconds)
        result["healthz_under_control_load"] = under_load(base, [bodies[CONTROL]], seconds)
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)


def under_load(base: str, payloads: list[bytes], seconds: float) -> dict[str, Any]:
    """/healthz sampled while CONCURRENT clients keep the payloads in flight (each starts its next one at once)."""
    stop = threading.Event()
    lock = threading.Lock()
    answers: list[float] = []
    statuses: Counter[int] = Counter()

    def client_loop(offset: int) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=60) as client:
            for i in range(offset, offset + 10_000):
                if stop.is_set():
                    return
                ms, status = post(client, payloads[i % len(payloads)])
                with lock:
                    answers.append(ms)
                    statuses[status] += 1

    threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # let every client have a request in flight
    health, failures = sample_health(base, seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    return {
        **percentiles(health),
        "max_ms": round(max(health), 2),
        "failures": failures,
        "requests": len(answers),
        "status": {str(k): v for k, v in sorted(statuses.items())},
        "answer_p50_ms": round(statistics.median(answers), 1) if answers else None,
        "answer_max_ms": round(max(answers), 1) if answers else None,
    }


def table(cleaning: dict[str, dict[str, Any]], service: dict[str, Any] | str | None) -> str:
    answers = service.get("answers", {}) if isinstance(service, dict) else {}
    lines = [
        f"{'input':<20} {'bytes':>9} {'prepare ms':>10} {'cleaned':>8} {'cut':>5} {'answer ms':>10} {'max':>7} status"
    ]
    for name, row in cleaning.items():
        answer = answers.get(name, {})
        lines.append(
            f"{name:<20} {row['request_bytes']:>9} {row['prepare_ms_median']:>10} {row['cleaned_chars']:>8} "
            f"{row['cut']!s:>5} {answer.get('answer_ms_median', '-')!s:>10} {answer.get('answer_ms_max', '-')!s:>7} "
            f"{answer.get('status', '-')}"
        )
    if isinstance(service, dict):
        for key in ("healthz_idle", "healthz_under_load", "healthz_under_control_load"):
            h = service[key]
            line = f"{key:<27} p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms, max {h['max_ms']} ms, n={h['n']}"
            if "requests" in h:
                line += f"; {h['requests']} requests in flight meanwhile: {h['status']}, p50 {h['answer_p50_ms']} ms"
                line += f", max {h['answer_max_ms']} ms"
            lines.append(line)
    elif service is not None:
        lines.append(f"service: {service}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--seconds", type=float, default=5.0, help="/healthz sampling, idle and under load")
    parser.add_argument("--repeats", type=int, default=3, help="sequential requests per input")
    parser.add_argument("--in-process-only", action="store_true")
    args = parser.parse_args()
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = {**inputs(), CONTROL: control()}
    cleaning = in_process(cases)
    service: dict[str, Any] | str | None = None
    if not args.in_process_only:
        bodies = {name: json.dumps(ticket, ensure_ascii=False).encode() for name, ticket in cases.items()}
        try:
            service = against_service(args.model, bodies, args.seconds, args.repeats, out_dir / "adversarial-serve.log")
        except RuntimeError as exc:
            service = f"not measured: {exc}"
    print(table(cleaning, service))
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    result = {"model": str(args.model), "load_average": os.getloadavg(), "in_process": cleaning, "service": service}
    out = out_dir / "adversarial.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"written to {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
