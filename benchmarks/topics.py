"""Candidate categories on Banking77 with a quarter of the intents hidden from training.

    python benchmarks/topics.py [--model DIR] [--min-size 5] [--distances 0.4 0.5 0.6]

Every fourth intent in sorted order is left out of training (as ``benchmarks/accuracy.py banking77_open``);
a bundle is trained on the rest with the defaults (``--holdout 0``, no MLflow; ``--model`` reuses one trained
so), the test tickets go through the triager, and the ones it flags unfamiliar are clustered as
``triage topics`` clusters them (the bundle's own encoder, :func:`triage.topics.find_topics`). A second
candidate set adds every hidden-intent test ticket, flagged or not (what the clustering could do with a
perfect novelty check).

Reported per method and setting: the share of the hidden intents' test tickets that land in a cluster where
their own intent holds most (> 50%) of the tickets, and where any one hidden intent does; how many hidden
intents lead at least one cluster; cluster count, share of candidates left unclustered, and the purity of the
clusters (the share of a cluster's largest intent). Results go to benchmarks/results/topics-<space>.json
(space: ``embedding``, or ``words`` for a ``--features tfidf`` bundle).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / get_settings().shared_data


def hidden_intents(train: pd.DataFrame) -> list[str]:
    """Every fourth intent in sorted order, as the open-set benchmark of benchmarks/accuracy.py hides."""
    return sorted(train.category.unique())[::4]


def train_bundle(train: pd.DataFrame, work: Path, features: str) -> Path:
    """A bundle trained as `triage train FILE --holdout 0 --no-mlflow --features FEATURES` trains it."""
    from training import TrainConfig
    from training import train as run_training

    path, out = work / "b77_open_train.csv", work / "model"
    train.to_csv(path, index=False)
    run_training([path], out, config=TrainConfig(holdout=0.0, mlflow=False, feature_set=features))
    return out


def purity_figures(labels: np.ndarray, intents: np.ndarray, hidden: set[str], n_hidden_tickets: int) -> dict:
    """The figures of one clustering of candidate tickets whose true intents are ``intents``."""
    clusters = sorted(set(labels[labels >= 0].tolist()))
    purities, sizes, led_by_own, led_by_hidden, leaders = [], [], 0, 0, set()
    for c in clusters:
        members = intents[labels == c]
        leader, count = Counter(members.tolist()).most_common(1)[0]
        purity = count / len(members)
        purities.append(purity)
        sizes.append(len(members))
        if purity > 0.5 and leader in hidden:
            leaders.add(leader)
            led_by_own += count
            led_by_hidden += int(np.isin(members, list(hidden)).sum())
    purities_ = np.array(purities) if purities else np.zeros(1)
    weights = np.array(sizes) if sizes else np.ones(1)
    return {
        "hidden_tickets_in_own_intent_cluster": round(led_by_own / n_hidden_tickets, 4),
        "hidden_tickets_in_hidden_led_cluster": round(led_by_hidden / n_hidden_tickets, 4),
        "hidden_intents_leading_a_cluster": len(leaders),
        "clusters": len(clusters),
        "unclustered_share": round(float((labels < 0).mean()), 4),
        "purity_weighted_mean": round(float(np.average(purities_, weights=weights)), 4),
        "purity_quartiles": [round(float(q), 3) for q in np.quantile(purities_, [0.0, 0.25, 0.5, 0.75, 1.0])],
        "clusters_purity_above_half": int((purities_ > 0.5).sum()) if purities else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a bundle trained on the open-set split (skips training)")
    parser.add_argument("--features", default="auto", help="feature set of the trained bundle (tfidf: no encoder)")
    parser.add_argument("--min-size", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=["agglomerative", "hdbscan"])
    parser.add_argument("--distances", nargs="+", type=float, help="default: around the shipped distance")
    args = parser.parse_args()

    from triage.decision import Triager
    from triage.models import load_bundle

    folder = SHARED / "banking77"
    if not folder.is_dir():
        raise SystemExit(f"{folder} not found (set TRIAGE_SHARED_DATA): nothing was measured")
    os.environ.setdefault("TRIAGE_CACHE_DIR", str(ROOT / ".triage-cache"))
    # the signing key as seen from where the command runs (the bundle of --model was signed by it)
    os.environ.setdefault("TRIAGE_SIGNING_KEY", str(get_settings().signing_key.resolve()))
    get_settings.cache_clear()
    train, test = pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "test.csv")
    hidden = set(hidden_intents(train))
    timings: dict[str, float] = {}
    given = args.model.resolve() if args.model else None  # before leaving the working directory
    tmp = tempfile.mkdtemp(prefix="topics-bench-")
    try:
        os.chdir(tmp)  # anything a run writes stays out of the repository
        start = time.perf_counter()
        model_dir = given or train_bundle(train[~train.category.isin(hidden)], Path(tmp), args.features)
        timings["train"] = time.perf_counter() - start
        bundle = load_bundle(model_dir)
        texts = test.text.astype(str).tolist()
        start = time.perf_counter()
        unfamiliar = Triager(bundle).assess(texts).unfamiliar
        timings["assess"] = time.perf_counter() - start
        measure(args, bundle, texts, test, hidden, unfamiliar, timings)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(
    args: argparse.Namespace,
    bundle: Any,
    texts: list[str],
    test: pd.DataFrame,
    hidden: set[str],
    unfamiliar: np.ndarray,
    timings: dict[str, float],
) -> None:
    """Cluster both candidate sets with every setting; print and write the figures."""
    from triage.topics import cluster_vectors, find_topics, ticket_vectors
    from triage.topics.vectors import DISTANCES, representation

    space = representation(bundle.model)
    shipped = DISTANCES[space]
    distances = args.distances or [round(shipped + step, 2) for step in (-0.1, 0.0, 0.1)]
    intents = test.category.to_numpy()
    is_hidden = np.isin(intents, list(hidden))
    sets = {"flagged unfamiliar": unfamiliar, "flagged + every hidden-intent ticket": unfamiliar | is_hidden}
    results: dict = {
        "hidden_intents": len(hidden),
        "hidden_test_tickets": int(is_hidden.sum()),
        "hidden_flagged": round(float(unfamiliar[is_hidden].mean()), 4),
        "known_flagged": round(float(unfamiliar[~is_hidden].mean()), 4),
        "min_size": args.min_size,
        "space": space,
        "shipped_distance": shipped,
        "runs": [],
    }
    settings = [("agglomerative", d) for d in distances] if "agglomerative" in args.methods else []
    settings += [("hdbscan", 0.5)] if "hdbscan" in args.methods else []
    vectors_of: dict[str, np.ndarray] = {}
    for name, chosen in sets.items():
        rows = np.flatnonzero(chosen)
        start = time.perf_counter()  # as `triage topics` does: the candidates alone (words: refitted on them)
        vectors = vectors_of[name] = ticket_vectors(bundle.model, [texts[i] for i in rows])
        timings[f"vectors of {name}"] = time.perf_counter() - start
        for method, distance in settings:
            start = time.perf_counter()
            labels = cluster_vectors(vectors, min_size=args.min_size, method=method, distance=distance)
            seconds = time.perf_counter() - start
            figures = purity_figures(labels, intents[rows], hidden, int(is_hidden.sum()))
            run = {"candidates": name, "n": len(rows), "method": method, "seconds": round(seconds, 2), **figures}
            if method == "agglomerative":
                run["distance"] = distance
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
    # what an evaluator reads on the desk: the largest candidate categories of the default setting
    rows = np.flatnonzero(unfamiliar)
    candidates = [texts[i] for i in rows]
    topics = find_topics(
        candidates,
        vectors_of["flagged unfamiliar"],
        ids=[str(i) for i in rows],
        min_size=args.min_size,
        distance=shipped,
    )
    results["largest_topics"] = [
        {
            "size": t.size,
            "terms": t.terms[:5],
            "leading_intent": Counter(intents[[int(i) for i in t.ticket_ids]].tolist()).most_common(1)[0],
        }
        for t in topics[:8]
    ]
    results["seconds"] = {k: round(v, 1) for k, v in timings.items()}
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))
    out = ROOT / "benchmarks" / "results" / f"topics-{space}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
