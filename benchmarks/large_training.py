"""Training on a large desk's history: `triage train` on a replicated export, as a user runs it.

    python benchmarks/large_training.py --tickets 150000 [--extra=--max-tickets=0] [--tag before]
    nice -n 5 python benchmarks/large_training.py --tickets 1000000

The IT tickets are split 80/20 (stratified, seed 0, as benchmarks/accuracy.py does); the 30,624 training
tickets are replicated until ``--tickets`` rows, each copy marked so none is a duplicate (a copy token
appended to the text, its own id) and dated (copy k a later stretch of time than copy k-1, so the most
recent tickets are the last copies). The export is written to /tmp (never into the repository). Then
`triage train` runs under `/usr/bin/time -v` (wall time and peak RSS of the process), and `triage evaluate`
scores the bundle on the 7,656 held-out original tickets. Results are appended to
benchmarks/results/large_training.json with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from triage.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / get_settings().shared_data
TRIAGE = str(Path(sys.executable).parent / "triage")
START = pd.Timestamp("2020-01-01", tz="UTC")


def original_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The IT tickets' stratified 80/20 split with seed 0 (the one benchmarks/accuracy.py uses)."""
    tickets = pd.read_csv(SHARED / "it_tickets" / "tickets.csv.gz")
    train, test = train_test_split(tickets, test_size=0.2, random_state=0, stratify=tickets["category"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def replicated(train: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows: copies of ``train`` (each shuffled), copy k's texts ending in the token ``copyk``, ids
    unique, one ticket a minute in order (the last copy is the most recent)."""
    rng = np.random.default_rng(seed)
    copies = []
    for k in range(math.ceil(n / len(train))):
        part = train.iloc[rng.permutation(len(train))].copy()
        part["text"] = part["text"] + f" copy{k}"
        copies.append(part)
    frame = pd.concat(copies, ignore_index=True).iloc[:n]
    frame.insert(0, "id", [f"T{i:07d}" for i in range(len(frame))])
    frame.insert(
        1, "created_at", (START + pd.to_timedelta(np.arange(len(frame)), unit="min")).strftime("%Y-%m-%d %H:%M")
    )
    return frame


def time_v(cmd: list[str]) -> dict[str, float]:
    """Run a command under /usr/bin/time -v: wall seconds and peak RSS (GB); its stderr is echoed."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - started
    sys.stderr.write(done.stderr[-6000:])
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode})")
    peak_kb = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))  # type: ignore[union-attr]
    return {"wall_s": round(wall, 1), "peak_rss_gb": round(peak_kb / 1024**2, 2), "stdout": done.stdout}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=150_000)
    parser.add_argument("--extra", default="", help="extra `triage train` options, space-separated")
    parser.add_argument("--tag", default="")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "triage-large")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    train, test = original_split()
    export = args.work / f"export-{args.tickets}.csv.gz"
    if not export.exists():
        t = time.perf_counter()
        replicated(train, args.tickets).to_csv(export, index=False, compression={"method": "gzip", "compresslevel": 1})
        print(f"wrote {export} in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    test_file = args.work / "test.csv"
    test.to_csv(test_file, index=False)
    model, report = args.work / f"model-{args.tickets}{args.tag}", args.work / f"report-{args.tickets}{args.tag}"
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    trained = time_v([TRIAGE, "train", str(export), "--out", str(model), "--no-mlflow", *args.extra.split()])
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    subprocess.run(
        [TRIAGE, "evaluate", "--model", str(model), str(test_file), "--out", str(report), "--no-mlflow"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    metrics = json.loads((report / "metrics.json").read_text())["category"]
    manifest = json.loads((model / "manifest.json").read_text())
    training = manifest.get("training", {})
    result = {
        "tickets": args.tickets,
        "tag": args.tag,
        "extra": args.extra,
        "wall_s": trained["wall_s"],
        "peak_rss_gb": trained["peak_rss_gb"],
        "sample": training.get("sample"),
        "final_model_tickets": (training.get("final_model") or {}).get("n_tickets"),
        "feature_selection": (training.get("feature_selection") or {}).get("reason"),
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "test_tickets": len(test),
        "load_before": load_before,
        "load_after": load_after,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    out = ROOT / "benchmarks" / "results" / "large_training.json"
    out.parent.mkdir(exist_ok=True)
    runs = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps([*runs, result], indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
