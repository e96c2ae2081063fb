"""Learning curve: accuracy and macro-F1 against the number of training tickets, through the CLI.

    python benchmarks/learning_curve.py it_tickets banking77
    python benchmarks/learning_curve.py it_tickets --sizes 1000 5000 30624

IT tickets: the stratified 80/20 split with seed 0 of benchmarks/accuracy.py (30,624 train / 7,656 test);
Banking77: train.csv -> test.csv (10,003 / 3,080). For each size, a stratified random sample of that many
training tickets (seed 0; the whole training file at its own size) is written to a temporary folder,
`triage train` runs with the defaults and `triage evaluate` scores the bundle on the same test set every
time. So a desk knows what more history buys. Results go to benchmarks/results/learning_curve.json.
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
from sklearn.model_selection import train_test_split

from triage.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / get_settings().shared_data
TRIAGE = str(Path(sys.executable).parent / "triage")
SIZES = {"it_tickets": [1_000, 2_000, 5_000, 10_000, 20_000, 30_624], "banking77": [1_000, 2_000, 5_000, 10_003]}


def data(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "banking77":
        return pd.read_csv(SHARED / name / "train.csv"), pd.read_csv(SHARED / name / "test.csv")
    tickets = pd.read_csv(SHARED / name / "tickets.csv.gz")
    train, test = train_test_split(tickets, test_size=0.2, random_state=0, stratify=tickets["category"])
    return train, test


def point(name: str, train: pd.DataFrame, test_file: Path, size: int, work: Path, extra: list[str]) -> dict:
    if size < len(train):
        train, _ = train_test_split(train, train_size=size, random_state=0, stratify=train["category"])
    train_file, model, report = work / f"{name}-{size}.csv", work / f"{name}-{size}-model", work / f"{name}-{size}-r"
    train.to_csv(train_file, index=False)
    started = time.perf_counter()
    process = subprocess.Popen(
        [TRIAGE, "train", str(train_file), "--out", str(model), "--no-mlflow", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"training {name} on {size} tickets failed")
    seconds = time.perf_counter() - started
    evaluate = [TRIAGE, "evaluate", "--model", str(model), str(test_file), "--out", str(report), "--no-mlflow"]
    subprocess.run(evaluate, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = json.loads((report / "metrics.json").read_text())
    manifest = json.loads((model / "manifest.json").read_text())
    auto = metrics["overall"].get("auto_route", {})
    result = {
        "tickets": len(train),
        "accuracy": round(metrics["category"]["accuracy"], 4),
        "macro_f1": round(metrics["category"]["macro_f1"], 4),
        "auto_routed": round(auto["n_auto"] / auto["n"], 4) if auto.get("n") else None,
        "features": manifest["model_params"]["feature_set"] + (" + trees" if manifest["model_params"]["trees"] else ""),
        "train_seconds": round(seconds, 1),
        "train_peak_rss_gb": round(usage.ru_maxrss / 1024**2, 2),
    }
    print(name, json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", choices=sorted(SIZES))
    parser.add_argument("--sizes", nargs="+", type=int, help="training sizes (default: per data set)")
    parser.add_argument("--extra", default="", help="extra `triage train` options, space-separated")
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "results" / "learning_curve.json"
    results = {}
    os.environ.setdefault("TRIAGE_CACHE_DIR", str(ROOT / ".triage-cache"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.datasets:
            train, test = data(name)
            test_file = work / f"{name}-test.csv"
            test.to_csv(test_file, index=False)
            sizes = [s for s in (args.sizes or SIZES[name]) if s <= len(train)]
            points = [point(name, train, test_file, size, work, args.extra.split()) for size in sizes]
            results[name] = {"date": time.strftime("%Y-%m-%d %H:%M"), "load": os.getloadavg(), "points": points}
    out.parent.mkdir(exist_ok=True)
    earlier = json.loads(out.read_text()) if out.exists() else {}  # read last: another run may have written
    out.write_text(json.dumps({**earlier, **results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
