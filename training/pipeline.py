"""The training run: load an export, split, choose features, fit, evaluate on the hold-out, write the bundle,
and track it all in MLflow. The CLI's ``triage train`` and notebooks call :func:`train`.

>>> from training import TrainConfig, train
>>> result = train(["datasets/helpdesk_tickets.csv.gz"], "models/default", config=TrainConfig())  # doctest: +SKIP
>>> result.metrics["category"]["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from training.selection import CANDIDATES, Selection, choose_feature_set
from training.splits import Split, holdout_split
from triage.data import ColumnMapping, Tickets, load_mapping, load_tickets
from triage.evaluation import evaluate_model
from triage.features import FEATURE_SETS, uses_embeddings
from triage.features.encoder import cached_encoder
from triage.models import Bundle, TriageModel, save_bundle
from triage.models.bundle import remove_partial
from triage.models.head import ClassThreshold, class_thresholds, precision_threshold
from triage.settings import get_settings
from triage.tracking import flatten_metrics, log_json, mlflow_run

logger = logging.getLogger(__name__)


class TrainConfig(BaseModel):
    """Options of a training run (defaults suit a help-desk export of a few thousand tickets and up)."""

    feature_set: str = Field("auto", description=f"auto or one of {list(FEATURE_SETS)}")
    trees: str = Field(
        "auto",
        pattern="^(auto|on|off)$",
        description="boosted trees on the words beside the linear model: auto (where they help on a validation "
        "split), on or off",
    )
    embedding_model: str | None = Field(None, description="defaults to settings.embedding_model")
    holdout: float = Field(0.2, ge=0.0, lt=0.9, description="share of tickets held out for the test metrics")
    C: float = Field(0.5, gt=0)
    loss: str = Field("svm", pattern="^(svm|logistic)$")
    class_weight: str | None = Field("balanced", description="'balanced' or None")
    calibration_folds: int = Field(3, ge=2)
    min_class_count: int = Field(5, ge=2, description="rarer classes are left out of their head")
    precision_target: float | None = Field(
        0.95, gt=0.0, lt=1.0, description="auto-routed precision each class must reach (95% confidence); None: 0.5"
    )
    precision_targets: dict[str, float] = Field(
        default_factory=dict, description="per-head targets overriding precision_target, e.g. {'priority': 0.9}"
    )
    novelty_false_alarm_rate: float | None = Field(
        0.2,
        gt=0.0,
        lt=1.0,
        description="share of ordinary tickets flagged unfamiliar (mostly ones the classifier is unsure of anyway); "
        "None: no novelty check",
    )
    seed: int = 0
    quantize: bool = Field(True, description="int8 ONNX encoder (faster; measured cost in benchmarks/README)")
    max_tokens: int = Field(128, ge=8, le=512)
    mlflow: bool = True
    cache_dir: Path | None = None


@dataclass
class TrainResult:
    """What a training run produced."""

    bundle: Bundle
    tickets: Tickets
    split: Split
    selection: Selection | None
    metrics: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None


def fingerprint(frame: pd.DataFrame, heads: Sequence[str]) -> str:
    """SHA-256 of the tickets' texts and labels, independent of row order."""
    hashed = pd.util.hash_pandas_object(frame[["text", *heads]].fillna(""), index=False).sort_values()
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def choose_thresholds(
    model: TriageModel, config: TrainConfig
) -> tuple[dict[str, float], dict[str, float | None], dict[str, dict[str, ClassThreshold]]]:
    """Per head, the precision target, the pooled threshold and one threshold per class, from the held-out
    tickets of each head (never the test split); logs the classes that are never auto-routed."""
    targets: dict[str, float] = {}
    thresholds: dict[str, float | None] = {}
    per_class: dict[str, dict[str, ClassThreshold]] = {}
    for head, clf in model.heads_.items():
        target = config.precision_targets.get(head, config.precision_target)
        if target is None:
            continue
        targets[head] = target
        thresholds[head] = precision_threshold(clf.heldout_top_, clf.heldout_correct_, target=target)
        chosen = class_thresholds(
            clf.heldout_top_,
            clf.heldout_pred_,
            clf.heldout_correct_,
            len(clf.classes_),
            target=target,
            head_threshold=thresholds[head],
        )
        per_class[head] = {str(label): c for label, c in zip(clf.classes_, chosen, strict=True)}
        sources = pd.Series([c.source for c in chosen]).value_counts().to_dict()
        never = [label for label, c in per_class[head].items() if c.threshold is None]
        logger.info("head %s, precision target %.2f: thresholds per class %s", head, target, sources)
        if never:
            logger.warning(
                "head %s: %d class(es) cannot reach precision %.2f and are never auto-routed: %s",
                head,
                len(never),
                target,
                ", ".join(never),
            )
    unknown = set(config.precision_targets) - set(model.heads_)
    if unknown:
        logger.warning("precision targets for heads that were not trained: %s", ", ".join(sorted(unknown)))
    return targets, thresholds, per_class


def train(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    config: TrainConfig | None = None,
) -> TrainResult:
    """Train a bundle from export files and write it to ``out_dir``."""
    config = config or TrainConfig()
    settings = get_settings()
    cache_dir = config.cache_dir or settings.cache_dir
    embedding_model = config.embedding_model or settings.embedding_model
    timings: dict[str, float] = {}
    started = time.perf_counter()

    remove_partial(out_dir)  # what an interrupted training into the same folder left behind
    tickets = load_tickets(paths, mapping, min_class_count=config.min_class_count)
    tickets.quality.render()
    frame, heads = tickets.frame, tickets.heads
    split = holdout_split(frame, heads, test_size=config.holdout, seed=config.seed)
    logger.info("split %s", split.description)
    train_part, test_part = frame.iloc[split.train], frame.iloc[split.test]
    timings["load"] = time.perf_counter() - started

    needs_encoder = config.feature_set == "auto" or uses_embeddings(config.feature_set)
    encoder_dir = (
        cached_encoder(embedding_model, cache_dir, max_tokens=config.max_tokens, quantize=config.quantize)
        if needs_encoder
        else None
    )
    cache_path = Path(cache_dir) / "embeddings.sqlite"
    selection = None
    feature_set = config.feature_set
    trees = {"on": True, "off": False}.get(config.trees)
    if feature_set == "embedding" and trees is None:
        trees = False  # the trees read word TF-IDF, which this feature set lacks (forcing them is an error)
    if feature_set == "auto" or trees is None:
        t = time.perf_counter()
        first = heads[0]
        labelled = train_part[first].notna().to_numpy()
        selection = choose_feature_set(
            train_part["text"][labelled].tolist(),
            train_part[first][labelled],
            encoder_dir=encoder_dir,
            cache_path=cache_path,
            candidates=CANDIDATES if feature_set == "auto" else (feature_set,),
            trees=trees,
            seed=config.seed,
        )
        feature_set, trees = selection.chosen, selection.trees
        logger.info("model selection: %s", selection.reason)
        timings["select_features"] = time.perf_counter() - t

    t = time.perf_counter()
    model = TriageModel(
        feature_set=feature_set,
        encoder_dir=encoder_dir,
        cache_path=cache_path,
        C=config.C,
        loss=config.loss,
        class_weight=config.class_weight,
        calibration_folds=config.calibration_folds,
        min_class_count=config.min_class_count,
        novelty_false_alarm_rate=config.novelty_false_alarm_rate,
        trees=bool(trees),
        progress=True,
    ).fit(train_part["text"].tolist(), train_part[heads])
    timings["fit"] = time.perf_counter() - t

    targets, thresholds, per_class = choose_thresholds(model, config)
    t = time.perf_counter()
    metrics = evaluate_model(model, test_part) if len(test_part) else {}
    timings["evaluate"] = time.perf_counter() - t

    training_info = {
        "split": {
            "method": split.method,
            "description": split.description,
            "n_train": len(split.train),
            "n_test": len(split.test),
        },
        "feature_selection": asdict(selection)
        if selection
        else {"chosen": feature_set, "trees": bool(trees), "reason": "given"},
        "embedding_model": embedding_model if uses_embeddings(feature_set) else None,
        "config": config.model_dump(mode="json"),
    }
    data = {"fingerprint": fingerprint(frame, heads), "n_tickets": len(frame), "files": tickets.quality.files}
    used_mapping = (mapping or load_mapping(None)).model_dump(mode="json")
    files = ", ".join(Path(p).name for p in paths)
    run_name = f"train {files[:80]} {time.strftime('%Y-%m-%d %H:%M')}"  # the data and the time, not "train"
    with mlflow_run(run_name, enabled=config.mlflow) as run:
        bundle = save_bundle(
            model,
            out_dir,
            data=data,
            metrics=metrics,
            quality=tickets.quality.model_dump(mode="json"),
            training={**training_info, "mlflow_run_id": run.info.run_id if run else None},
            thresholds=thresholds,
            precision_targets=targets,
            class_thresholds=per_class,
            mapping=used_mapping,
        )
        timings["total"] = time.perf_counter() - started
        if run is not None:
            import mlflow

            mlflow.log_params(
                {
                    "feature_set": feature_set,
                    "trees": bool(trees),
                    "heads": ",".join(bundle.manifest.heads),
                    "split": split.method,
                    "n_train": len(split.train),
                    "n_test": len(split.test),
                    "data_fingerprint": data["fingerprint"],
                    "model_version": bundle.version,
                    **{f"config.{k}": v for k, v in config.model_dump(mode="json").items()},
                }
            )
            mlflow.log_metrics({**flatten_metrics(metrics), **{f"time.{k}_s": v for k, v in timings.items()}})
            log_json(run, "data_quality.json", tickets.quality.model_dump(mode="json"))
            log_json(run, "holdout_metrics.json", metrics)
            log_json(run, "mapping.json", used_mapping)
            mlflow.log_metrics(
                {
                    **{f"threshold.{h}": t for h, t in thresholds.items() if t is not None},
                    **{
                        f"never_routed_classes.{h}": sum(c.threshold is None for c in classes.values())
                        for h, classes in per_class.items()
                    },
                }
            )
            log_json(
                run,
                "thresholds.json",
                {h: {k: v.model_dump() for k, v in classes.items()} for h, classes in per_class.items()},
            )
            mlflow.log_artifacts(str(bundle.path), artifact_path="bundle")
    return TrainResult(bundle, tickets, split, selection, metrics, timings, run.info.run_id if run else None)
