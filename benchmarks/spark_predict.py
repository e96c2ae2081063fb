"""Batch prediction throughput: local `triage predict` against `--engine spark` on `local[1]` and `local[2]`,
on the IT tickets replicated to N rows (Parquet, row groups of 50,000), with the peak memory of the driver
(the CLI's Python process plus its JVM; Spark's Python workers are executors and are not counted).

    .venv/bin/python benchmarks/spark_predict.py --rows 100000 --rows 1000000 --bundle /tmp/it_bundle

The bundle: `triage train /work/shared/datasets/it_tickets/tickets.csv.gz --out /tmp/it_bundle --no-mlflow`.
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

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TRIAGE_SHARED_DATA", ROOT.parent / "shared" / "datasets"))
TICKETS = SHARED / "it_tickets" / "tickets.csv.gz"
TRIAGE = str(Path(sys.executable).parent / "triage")


def replicate(rows: int, folder: Path) -> Path:
    """The IT tickets repeated to ``rows`` rows (copy k's ids suffixed ``-k``), as one Parquet file."""
    base = pd.read_csv(TICKETS, dtype=str, keep_default_na=False)
    copies = []
    for k in range(-(-rows // len(base))):
        copy = base.copy()
        copy["id"] = copy["id"] + f"-{k}" if "id" in copy.columns else [f"{k}-{i}" for i in range(len(copy))]
        copies.append(copy)
    frame = pd.concat(copies, ignore_index=True).iloc[:rows]
    path = folder / f"tickets-{rows}.parquet"
    frame.to_parquet(path, row_group_size=50_000)
    return path


def _driver_rss(process: psutil.Process) -> tuple[int, int]:
    """RSS of the CLI's Python process and of its JVM (not of the JVM's Python workers)."""
    jvm = 0
    for child in process.children(recursive=True):
        try:
            if child.name() == "java":
                jvm += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return process.memory_info().rss, jvm


def run(args: list[str]) -> dict[str, float]:
    """Run a CLI command; wall time and the driver's peak RSS (Python, JVM, both), polled every 0.1 s."""
    start = time.perf_counter()
    child = subprocess.Popen([TRIAGE, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    process, peak, peak_python, peak_jvm = psutil.Process(child.pid), 0, 0, 0
    while child.poll() is None:
        try:
            python, jvm = _driver_rss(process)
        except psutil.NoSuchProcess:
            break
        peak, peak_python, peak_jvm = max(peak, python + jvm), max(peak_python, python), max(peak_jvm, jvm)
        time.sleep(0.1)
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output[-3000:]}")
    return {
        "seconds": time.perf_counter() - start,
        "peak_driver_mb": peak / 2**20,
        "peak_driver_python_mb": peak_python / 2**20,
        "peak_driver_jvm_mb": peak_jvm / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="Rows to score (repeatable; default 100000).")
    parser.add_argument("--bundle", type=Path, default=Path("/tmp/it_bundle"))
    parser.add_argument("--engines", default="local,local[1],local[2]", help="local and/or Spark masters.")
    args = parser.parse_args()
    if not TICKETS.is_file():
        raise SystemExit(f"skipped: {TICKETS} is absent")
    results = []
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp:
        for rows in args.rows or [100_000]:
            data = replicate(rows, Path(tmp))
            for engine in args.engines.split(","):
                out = Path(tmp) / f"out-{rows}-{engine.replace('[', '-').replace(']', '')}"
                command = ["predict", "--model", str(args.bundle), str(data)]
                if engine == "local":
                    command += ["--out", str(out) + ".csv"]
                else:
                    command += ["--engine", "spark", "--master", engine, "--out", str(out)]
                load = os.getloadavg()[0]
                got = run(command)
                row = {
                    "rows": rows,
                    "engine": engine,
                    **got,
                    "tickets_per_s": rows / got["seconds"],
                    "load_before": load,
                    "load_after": os.getloadavg()[0],
                }
                results.append(row)
                print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    target = ROOT / "benchmarks" / "results" / "spark_predict.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results, indent=2))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
