"""Reports and the promotion gate on real data, through the CLI: `triage evaluate` (metrics.json,
report.html, report.md) and `triage compare` between a champion and a weaker challenger.

    python benchmarks/reports.py banking77 it_tickets

Banking77: champion = defaults on train.csv, challenger = `--features tfidf`; IT tickets (stratified 80/20,
seed 0): champion = defaults on the training part, challenger = defaults on a quarter of it. Both are
evaluated on the test tickets; the gate is run twice, with the defaults (recall drop <= 0.05) and with
`--significance 0.05`. Records wall times, report sizes and exit codes in benchmarks/results/reports.json;
the reports stay in benchmarks/results/reports-*/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
from accuracy import SHARED, TRIAGE, run  # the sibling script (benchmarks/ is on sys.path when run)
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def gate(new: Path, old: Path, test: Path, out: Path, *extra: str) -> dict:
    start = time.perf_counter()
    cmd = [TRIAGE, "compare", "--model", str(new), "--baseline", str(old), str(test), "--out", str(out), "--no-mlflow"]
    code = subprocess.run([*cmd, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    report = json.loads((out / "compare.json").read_text())
    return {
        "options": " ".join(extra) or "defaults",
        "exit_code": code,
        "seconds": round(time.perf_counter() - start, 1),
        "failures": len(report["gate"]["failures"]),
        "accuracy": {
            h: [r["accuracy_old"], r["accuracy_new"], r["mcnemar"]["p_value"]] for h, r in report["heads"].items()
        },
    }


def bench(
    name: str, train: Path, challenger_train: Path, challenger_options: list[str], test: Path, work: Path
) -> dict:
    out = RESULTS / f"reports-{name}"
    champion, challenger = work / "champion", work / "challenger"
    run([TRIAGE, "train", str(train), "--out", str(champion), "--holdout", "0", "--no-mlflow"])
    run(
        [
            TRIAGE,
            "train",
            str(challenger_train),
            "--out",
            str(challenger),
            "--holdout",
            "0",
            "--no-mlflow",
            *challenger_options,
        ]
    )
    seconds, _ = run(
        [TRIAGE, "evaluate", "--model", str(champion), str(test), "--out", str(out / "evaluate"), "--no-mlflow"]
    )
    return {
        "evaluate_seconds": round(seconds, 1),
        "report_html_kb": round((out / "evaluate" / "report.html").stat().st_size / 1024),
        "gate_default": gate(challenger, champion, test, out / "compare"),
        "gate_significance": gate(challenger, champion, test, out / "compare-significance", "--significance", "0.05"),
        "gate_self": gate(champion, champion, test, out / "compare-self"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", choices=["banking77", "it_tickets"])
    args = parser.parse_args()
    results_file = RESULTS / "reports.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chdir(work)
        os.environ.setdefault("TRIAGE_CACHE_DIR", str(ROOT / ".triage-cache"))
        for name in args.datasets:
            folder = SHARED / name
            if not folder.is_dir():
                print(f"skipping {name}: {folder} not found (set TRIAGE_SHARED_DATA)")
                continue
            (work / name).mkdir()
            if name == "banking77":
                result = bench(
                    name,
                    folder / "train.csv",
                    folder / "train.csv",
                    ["--features", "tfidf"],
                    folder / "test.csv",
                    work / name,
                )
            else:
                data = pd.read_csv(folder / "tickets.csv.gz")
                train, test = train_test_split(data, test_size=0.2, random_state=0, stratify=data.category)
                paths = [work / f"{name}-{part}.csv" for part in ("train", "quarter", "test")]
                train.to_csv(paths[0], index=False)
                train.sample(frac=0.25, random_state=0).to_csv(paths[1], index=False)
                test.to_csv(paths[2], index=False)
                result = bench(name, paths[0], paths[1], [], paths[2], work / name)
            results[name] = result
            print(name, json.dumps(result, indent=2), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
