"""A desk with little history: Banking77 with N tickets per intent, through the CLI.

    python benchmarks/fewshot.py [--shots 5 10 20] [--fine-tune on off] [--seed 0] [--extra=...] [--names]

For each N, the first N tickets of each intent after shuffling train.csv with the seed are written to a
temporary file; `triage train` runs with the defaults (or `--extra` options) and `triage evaluate` measures
the bundle on the whole test.csv (3,080 tickets), as benchmarks/accuracy.py does. Reports accuracy, macro-F1,
how much the certified thresholds let through (auto-routed share and its precision) and the baseline (TF-IDF
+ linear SVM on the same N per intent). With ``--fine-tune on off`` each N is trained both ways, side by side
(`--fine-tune` of `triage train`: the encoder adapted to the intents, or frozen), with the training wall time
and the machine's load. ``--names`` adds each intent's name in words as one more training ticket of its
intent (a desk's category names as examples). Results go to benchmarks/results/fewshot.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import ROOT, SHARED, bench


def first_per_class(train: pd.DataFrame, shots: int, seed: int) -> pd.DataFrame:
    """The first ``shots`` tickets of each class after a seeded shuffle."""
    return train.sample(frac=1.0, random_state=seed).groupby("category", sort=False).head(shots)


def with_names(sample: pd.DataFrame) -> pd.DataFrame:
    """The sample and one more ticket per intent: its name in words ("card_arrival" -> "card arrival")."""
    names = sorted(sample["category"].unique())
    return pd.concat([sample, pd.DataFrame({"text": [n.replace("_", " ") for n in names], "category": names})])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--extra", default="", help="extra options for triage train")
    parser.add_argument("--tag", default="", help="suffix of the result key")
    parser.add_argument("--names", action="store_true", help="add each intent's name as one more ticket")
    parser.add_argument(
        "--fine-tune", nargs="*", default=[], choices=["auto", "on", "off"], help="train once per mode, side by side"
    )
    args = parser.parse_args()
    folder = SHARED / "banking77"
    if not folder.is_dir():
        sys.exit(f"skipping: {folder} not found (set TRIAGE_SHARED_DATA)")
    results_file = ROOT / "benchmarks" / "results" / "fewshot.json"
    train = pd.read_csv(folder / "train.csv")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chdir(work)  # MLflow store of this run stays out of the repository
        os.environ.setdefault("TRIAGE_CACHE_DIR", str(ROOT / ".triage-cache"))
        for shots in args.shots:
            train_file = work / f"banking77_{shots}shot.csv"
            sample = first_per_class(train, shots, args.seed)
            (with_names(sample) if args.names else sample).to_csv(train_file, index=False)
            for mode in args.fine_tune or [None]:
                name = f"banking77_{shots}shot" + (f"_finetune-{mode}" if mode else "")
                key = f"banking77-{shots}shot-seed{args.seed}" + (f"-finetune-{mode}" if mode else "")
                key += ("-names" if args.names else "") + (f"-{args.tag}" if args.tag else "")
                extra = args.extra.split() + (["--fine-tune", mode] if mode else [])
                load_before = os.getloadavg()[0]
                result = bench(name, train_file, folder / "test.csv", work, extra)
                manifest = json.loads((work / f"{name}-model" / "manifest.json").read_text())
                result["fine_tune"] = manifest["training"].get("fine_tune")
                result["load_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
                print(key, json.dumps({k: result[k] for k in ("fine_tune", "load_1min")}), flush=True)
                # merged with what is on file now: another run may have written its own keys meanwhile
                results = json.loads(results_file.read_text()) if results_file.exists() else {}
                results[key] = result
                results_file.parent.mkdir(parents=True, exist_ok=True)
                results_file.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
