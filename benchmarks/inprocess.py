"""`Triager.decide` on one ticket at a time, in process: this code beside an older copy, in one run.

    python benchmarks/inprocess.py --bundle it=/tmp/it_bundle --bundle banking77=benchmarks/results/banking77-model \\
        [--baseline /tmp/triage-before] [--n 500] [--rounds 3]

Each ``--bundle NAME=DIR`` is timed on tickets of the data set its name says (``it``: the IT tickets, a seeded
sample; ``banking77``: the test set), cleaned as the API cleans them. ``--baseline DIR`` names a folder
holding an older ``triage`` package (e.g. ``mkdir /tmp/triage-before && git archive HEAD triage | tar -x -C
/tmp/triage-before``): each measurement runs in a fresh interpreter, the baseline's and this tree's in turn,
``--rounds`` times, so both see the same machine; the decisions of both are compared ticket by ticket.
Beside the wall-clock latencies (``p50_ms``...), ``cpu`` gives the thread's CPU time per call
(``time.thread_time``): on a machine shared with other jobs, a call of a few milliseconds is often preempted,
and its wall time says more about the load than about the code. (With embeddings, the work ONNX Runtime does
on its other thread is not counted.) Results go to
benchmarks/results/inprocess.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _texts(name: str, n: int) -> list[str]:
    import pandas as pd

    from triage.data.cleaning import prepare_parts
    from triage.settings import get_settings

    shared = ROOT / get_settings().shared_data
    if name.startswith("it"):
        frame = pd.read_csv(shared / "it_tickets" / "tickets.csv.gz").sample(n=n, random_state=0)
    elif name.startswith("banking"):
        frame = pd.read_csv(shared / "banking77" / "test.csv").iloc[:n]
    else:
        raise SystemExit(f"--bundle {name}=...: the name must start with 'it' or 'banking' (which texts to use)")
    return [prepare_parts("", str(t), max_chars=20_000).text for t in frame["text"]]


def worker(bundle: Path, texts_file: Path) -> None:
    """Time one decide([text]) per text (after a warm-up) and print the latencies and decisions as JSON."""
    from triage.decision import Triager
    from triage.models import load_bundle
    from triage.settings import get_settings

    texts = json.loads(texts_file.read_text())
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # as the service runs
    triager = Triager.from_settings(load_bundle(bundle), get_settings())
    for text in texts[:20]:
        triager.decide([text])
    latencies, cpu, decisions = [], [], []
    for text in texts:
        started, started_cpu = time.perf_counter(), time.thread_time()
        [decision] = triager.decide([text])
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        heads = {h: [s.label, round(s.confidence, 3)] for h, s in decision.heads.items()}
        decisions.append([decision.outcome.value, heads])
    print(json.dumps({"ms": latencies, "cpu_ms": cpu, "decisions": decisions}))


def _run(source: Path, bundle: Path, texts_file: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(source)}
    command = [sys.executable, __file__, "--worker", str(bundle), str(texts_file)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _summary(ms: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.array(ms)
    return {f"p{q}_ms": round(float(np.percentile(a, q)), 2) for q in (50, 90, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", action="append", required=True, help="NAME=DIR (NAME: it... or banking...)")
    parser.add_argument("--baseline", type=Path, help="folder holding an older triage package")
    parser.add_argument("--n", type=int, default=500, help="tickets per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import numpy as np

    sources = {"this tree": ROOT}
    if args.baseline is not None:
        if not (args.baseline / "triage" / "__init__.py").is_file():
            raise SystemExit(f"--baseline {args.baseline}: no triage package there")
        sources = {"baseline": args.baseline, **sources}
    result: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.bundle:
            name, _, folder = spec.partition("=")
            texts_file = Path(tmp) / f"{name}.json"
            texts_file.write_text(json.dumps(_texts(name, args.n)))
            runs: dict[str, list[dict]] = {label: [] for label in sources}
            for _ in range(args.rounds):
                for label, source in sources.items():
                    runs[label].append(_run(source, Path(folder), texts_file))
            entry: dict[str, dict] = {}
            for label, done in runs.items():
                failed = [r["error"] for r in done if "error" in r]
                if failed:
                    entry[label] = {"error": failed[0]}
                    continue
                medians = [float(np.median(r["ms"])) for r in done]
                entry[label] = {
                    **_summary([ms for r in done for ms in r["ms"]]),
                    "p50_ms_per_round": [round(m, 2) for m in medians],
                    "cpu": _summary([ms for r in done for ms in r["cpu_ms"]]),
                }
            if len(sources) == 2 and all("error" not in runs[label][0] for label in sources):
                before, after = (runs[label][0]["decisions"] for label in sources)
                equal = sum(a == b for a, b in zip(before, after, strict=True))
                entry["same_decisions"] = {"equal": equal, "of": len(after)}
            result[name] = entry
            print(name, json.dumps(entry), flush=True)
    out = ROOT / "benchmarks" / "results" / "inprocess.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
