"""Accuracy benchmark through the CLI, as a user runs it: `triage train` with the defaults, then
`triage evaluate` on a test set the training never sees.

    python benchmarks/accuracy.py banking77 it_tickets [--cold]

Banking77: train.csv -> test.csv. IT tickets: stratified 80/20 split with seed 0 (written to a temporary
folder, never into the repository), plus a TF-IDF + linear SVM baseline on the same split. `*_open`: every
fourth class (sorted) left out of training, to see the novelty check defer their test tickets. Training
holds out its own share of the training file to measure itself, then refits on all of it (the defaults;
`--extra=--no-refit` ships the measured model instead). Reports accuracy, macro-F1, training wall time and
peak memory (max RSS of the `triage train` process), the novelty rate training chose and its estimate.
`--cold` empties the embedding cache first. Results go to benchmarks/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from triage.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / get_settings().shared_data  # TRIAGE_SHARED_DATA; relative paths are taken from the repo
TRIAGE = str(Path(sys.executable).parent / "triage")


def run(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of that process)."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    process.returncode = 0
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def baseline(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    """TF-IDF (word 1-2-grams) + linear SVM, the usual baseline."""
    clf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LinearSVC(C=1.0))
    pred = clf.fit(train.text, train.category).predict(test.text)
    return {
        "accuracy": accuracy_score(test.category, pred),
        "macro_f1": f1_score(test.category, pred, average="macro"),
    }


def open_set(auto: dict, n_unseen: int, unseen_deferred: float) -> dict:
    """The open-set figures of one policy: unseen-intent tickets deferred, known-intent tickets auto-routed,
    precision of everything auto-routed (auto-routed unseen-intent tickets count as errors)."""
    auto_unseen = round(n_unseen * (1 - unseen_deferred))
    return {
        "unseen_tickets": n_unseen,
        "unseen_deferred": unseen_deferred,
        "known_auto_routed": (auto["n_auto"] - auto_unseen) / (auto["n"] - n_unseen),
        "precision_of_auto_routed": auto["precision"],
    }


def bench(name: str, train_file: Path, test_file: Path, work: Path, extra: list[str]) -> dict:
    model, report = work / f"{name}-model", work / f"{name}-report"
    seconds, peak_mb = run([TRIAGE, "train", str(train_file), "--out", str(model), *extra])
    run([TRIAGE, "evaluate", "--model", str(model), str(test_file), "--out", str(report), "--no-mlflow"])
    keep = ROOT / "benchmarks" / "results" / f"{name}-report"  # the HTML/Markdown report, for reading
    shutil.copytree(report, keep, dirs_exist_ok=True)
    metrics = json.loads((report / "metrics.json").read_text())["category"]
    manifest = json.loads((model / "manifest.json").read_text())
    result = {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "ece": metrics["ece"],
        "category_auto_route": metrics["auto_route"],
        "overall_auto_route": json.loads((report / "metrics.json").read_text())["overall"]["auto_route"],
        "unfamiliar": json.loads((report / "metrics.json").read_text())["overall"]["unfamiliar"],
        "global_threshold": json.loads((report / "metrics.json").read_text())["overall"]["global_threshold"],
        "aurc": metrics["risk_coverage"]["aurc"],
        "prediction_set": metrics["prediction_set"],
        "train_options": " ".join(extra),
        "train_seconds": round(seconds, 1),
        "train_peak_rss_mb": round(peak_mb),
        "feature_set": manifest["model_params"]["feature_set"],
        "holdout_estimate": manifest["metrics"].get("category", {}).get("accuracy"),
        "final_model": manifest["training"].get("final_model"),
        "novelty_false_alarm_rate": (manifest.get("novelty") or {}).get("false_alarm_rate"),
        "novelty_rate": manifest["training"].get("novelty_rate"),
        "selection": manifest["training"]["feature_selection"].get("reason"),
        "baseline_tfidf_svm": baseline(pd.read_csv(train_file), pd.read_csv(test_file)),
    }
    unknown = metrics["unknown_label"]
    if unknown["n"]:
        overall = json.loads((report / "metrics.json").read_text())["overall"]
        result["open_set"] = open_set(overall["auto_route"], unknown["n"], unknown["deferred"])
        one_threshold = overall["global_threshold"]
        result["open_set_global_threshold"] = open_set(
            one_threshold, unknown["n"], one_threshold["unknown_label_deferred"]
        )
    print(name, json.dumps(result, indent=2), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", choices=["banking77", "it_tickets", "banking77_open", "it_tickets_open"])
    parser.add_argument("--cold", action="store_true", help="empty the embedding cache first")
    parser.add_argument("--extra", default="", help="extra options for triage train, e.g. '--features tfidf'")
    parser.add_argument("--tag", default="", help="suffix of the result key, e.g. fp32")
    args = parser.parse_args()
    results_file = ROOT / "benchmarks" / "results" / "accuracy.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chdir(work)  # MLflow store and cache of this run stay out of the repository
        os.environ.setdefault("TRIAGE_CACHE_DIR", str(ROOT / ".triage-cache"))
        if args.cold:  # no cached embeddings and no exported encoder: the first run on a new machine
            shutil.rmtree(os.environ["TRIAGE_CACHE_DIR"], ignore_errors=True)
        ran = []
        for name in args.datasets:
            folder = SHARED / name.removesuffix("_open")
            if not folder.is_dir():
                print(f"skipping {name}: {folder} not found (set TRIAGE_SHARED_DATA)")
                continue
            if name.startswith("banking77"):
                train, test_file = pd.read_csv(folder / "train.csv"), folder / "test.csv"
            else:
                data = pd.read_csv(folder / "tickets.csv.gz")
                train, test = train_test_split(data, test_size=0.2, random_state=0, stratify=data.category)
                test_file = work / "it_test.csv"
                test.to_csv(test_file, index=False)
            if name.endswith("_open"):  # every fourth class (sorted) never seen in training
                hidden = sorted(train.category.unique())[::4]
                print(f"{name}: hidden from training: {', '.join(hidden)}", flush=True)
                train = train[~train.category.isin(hidden)]
            train_file = work / f"{name}_train.csv"
            train.to_csv(train_file, index=False)
            key = name + ("-cold" if args.cold else "-warm") + (f"-{args.tag}" if args.tag else "")
            results[key] = bench(name, train_file, test_file, work, args.extra.split())
            ran.append(name)
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(results, indent=2))
    if not ran:
        sys.exit("no data set was found: nothing was measured")


if __name__ == "__main__":
    main()
