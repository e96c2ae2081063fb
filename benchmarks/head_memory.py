"""What the heads' linear model costs as the classes multiply (the cap of ``--head auto``).

    python benchmarks/head_memory.py [--classes 77 300] [--losses svm logistic]

Banking77's training texts, relabelled into classes of ten tickets (each intent cut into sub-classes of ten:
real texts, synthetic labels), TF-IDF features; one fresh interpreter per (classes, loss) fits the head as
training does (three calibration folds and the full fit) and reports its wall time and peak resident memory.
A fit that the machine kills for memory is reported as such. Results go to benchmarks/results/head_memory.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import ROOT, SHARED  # SHARED follows TRIAGE_SHARED_DATA

FIT = """
import json, resource, sys, time
import pandas as pd
from triage.features import build_features
from triage.models.head import CalibratedLinearHead
path, classes, loss = sys.argv[1], int(sys.argv[2]), sys.argv[3]
train = pd.read_csv(path).sample(frac=1.0, random_state=0)
train["label"] = train["category"] + "/" + (train.groupby("category").cumcount() // 10).astype(str)
sizes = train["label"].value_counts()
frame = train[train["label"].isin(sizes[sizes == 10].index[:classes])]
X = build_features("tfidf").fit_transform(frame["text"].tolist())
started = time.perf_counter()
CalibratedLinearHead(C=100.0 if loss == "logistic" else 0.5, loss=loss).fit(X, frame["label"].to_numpy())
print(json.dumps({"classes": classes, "tickets": len(frame), "columns": X.shape[1], "loss": loss,
    "seconds": round(time.perf_counter() - started, 1),
    "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, nargs="+", default=[77, 300])
    parser.add_argument("--losses", nargs="+", default=["svm", "logistic"], choices=["svm", "logistic"])
    args = parser.parse_args()
    train = SHARED / "banking77" / "train.csv"
    if not train.exists():
        sys.exit(f"skipping: {train} not found")
    results = []
    for classes in args.classes:
        for loss in args.losses:
            done = subprocess.run([sys.executable, "-c", FIT, str(train), str(classes), loss], capture_output=True)
            if done.returncode == 0:
                results.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))
            else:  # -9: killed, most often by the kernel for memory
                results.append({"classes": classes, "loss": loss, "failed": f"exit code {done.returncode}"})
            print(json.dumps(results[-1]), flush=True)
    out = ROOT / "benchmarks" / "results" / "head_memory.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
