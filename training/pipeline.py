"""The training run: load an export, split, choose features, fit, evaluate on the hold-out, write the bundle,
and track it all in MLflow. The CLI's ``triage train`` and notebooks call :func:`train`.

>>> from training import TrainConfig, train
>>> result = train(["datasets/helpdesk_tickets.csv.gz"], "models/default", config=TrainConfig())  # doctest: +SKIP
>>> result.metrics["category"]["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field, field_validator

from training.sampling import Sample, recent_sample
from training.selection import CANDIDATES, Selection, choose_feature_set, choose_head
from training.splits import Split, holdout_split
from triage.data import ColumnMapping, Tickets, load_mapping, load_tickets
from triage.data.loader import LabelledSource
from triage.evaluation import evaluate_model
from triage.features import FEATURE_SETS, uses_embeddings
from triage.features.encoder import cached_encoder
from triage.features.finetune import FineTuneSettings, decide_fine_tune, tune_encoders
from triage.models import Bundle, TriageModel, save_bundle
from triage.models.bundle import remove_partial
from triage.models.head import ClassThreshold, class_thresholds, precision_threshold
from triage.settings import get_settings
from triage.tracking import flatten_metrics, log_json, mlflow_run

logger = logging.getLogger(__name__)

DEFAULT_FALSE_ALARM_RATE = 0.2  # of the novelty check, when no simulation can choose one
DEFAULT_MAX_TICKETS = 100_000  # where more history stops paying for its memory (benchmarks/README.md)


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
    refit: bool = Field(
        True,
        description="after measuring on the hold-out, fit the shipped model on every ticket (thresholds, calibration, "
        "conformal sets and novelty from out-of-fold scores over all of them); False: ship the measured model",
    )
    loss: str = Field(
        "auto",
        pattern="^(auto|svm|logistic)$",
        description="the heads' linear model: auto (a logistic regression with C 100 when the median class has "
        "fewer than 15 tickets and there are at most 200 classes, else the linear SVM with C 0.5: "
        "training.selection.choose_head), svm or logistic",
    )
    C: float | None = Field(None, gt=0, description="the linear model's C (default: the loss's, see loss)")
    class_weight: str | None = Field("balanced", description="'balanced' or None")
    calibration_folds: int = Field(3, ge=2)
    min_class_count: int = Field(5, ge=2, description="rarer classes are left out of their head")
    precision_target: float | None = Field(
        0.95, gt=0.0, lt=1.0, description="auto-routed precision each class must reach (95% confidence); None: 0.5"
    )
    precision_targets: dict[str, float] = Field(
        default_factory=dict, description="per-head targets overriding precision_target, e.g. {'priority': 0.9}"
    )
    novelty_false_alarm_rate: float | Literal["auto"] | None = Field(
        "auto",
        description="share of ordinary tickets flagged unfamiliar (mostly ones the classifier is unsure of anyway); "
        "auto: the lowest that defers novelty_target of simulated new kinds of request (leave-classes-out rounds on "
        "the training tickets, 0.2 when there are too few classes); None: no novelty check",
    )
    novelty_target: float = Field(
        0.9, gt=0.0, lt=1.0, description="share of simulated new kinds of request the auto rate must defer"
    )
    novelty_seconds: float = Field(30.0, gt=0.0, description="time budget of the leave-classes-out rounds")
    seed: int = 0
    quantize: bool = Field(True, description="int8 ONNX encoder (faster; measured cost in benchmarks/README)")
    fine_tune: str = Field(
        "off",
        pattern="^(auto|on|off)$",
        description="adapt the sentence encoder to the classes (contrastive fine-tuning, one encoder per "
        "calibration fold for honest out-of-fold scores): auto (small classes, few tickets: "
        "triage.features.finetune.decide_fine_tune), on or off (the default: a point of accuracy for 70 times the "
        "training time, benchmarks/README.md)",
    )
    max_tokens: int = Field(128, ge=8, le=512)
    max_tickets: int = Field(
        DEFAULT_MAX_TICKETS,
        ge=0,
        description="train on at most this many tickets, the most recent first (a random sample without "
        "timestamps), every class keeping min_per_class; 0: every ticket",
    )
    min_per_class: int = Field(50, ge=1, description="tickets every class keeps under max_tickets")
    mlflow: bool = True
    cache_dir: Path | None = None

    @field_validator("novelty_false_alarm_rate")
    @classmethod
    def _rate_in_range(cls, rate: float | str | None) -> float | str | None:
        if isinstance(rate, float) and not 0.0 < rate < 1.0:
            raise ValueError(f"a false-alarm rate is between 0 and 1 (exclusive), got {rate}")
        return rate


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
    sample: Sample | None = None  # the tickets used under max_tickets


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


def _load(
    paths: Sequence[str | Path],
    mapping: ColumnMapping | None,
    config: TrainConfig,
    labelled: LabelledSource | None,
    spark: Any,
) -> tuple[Tickets, Sample]:
    """The tickets the training uses (at most ``max_tickets``) and how they were chosen: read in this process,
    or on Spark, which reads and counts the whole history and collects the sample only."""
    if spark is not None:
        from training.spark_sample import spark_training_tickets

        if labelled is not None:
            raise ValueError("tickets from the store cannot be added to a training on Spark")
        tickets, sample = spark_training_tickets(
            spark,
            [str(p) for p in paths],
            mapping,
            max_tickets=config.max_tickets,
            min_per_class=config.min_per_class,
            min_class_count=config.min_class_count,
            seed=config.seed,
            warn=logger.warning,
        )
        tickets.quality.render()
    else:
        tickets = load_tickets(paths, mapping, min_class_count=config.min_class_count, labelled=labelled)
        tickets.quality.render()
        sample = recent_sample(
            tickets.frame,
            tickets.heads,
            max_tickets=config.max_tickets,
            min_per_class=config.min_per_class,
            seed=config.seed,
        )
        if sample.method != "all":  # the split's positions index these (and the rest is freed)
            tickets = Tickets(tickets.frame.iloc[sample.rows].reset_index(drop=True), tickets.quality)
    if sample.method != "all":
        logger.warning("%s", sample.description)
    return tickets, sample


def train(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    config: TrainConfig | None = None,
    labelled: LabelledSource | None = None,
    spark: Any = None,
) -> TrainResult:
    """Train a bundle from export files and write it to ``out_dir``; ``labelled`` adds tickets labelled in the
    store (:func:`triage.store.labels.training_source`), which win over an export's ticket with the same id.
    With a ``spark`` session the exports (files, folders or cluster URIs) are read and sampled on Spark
    (:mod:`training.spark_sample`) and only the sample is trained on here."""
    config = config or TrainConfig()
    settings = get_settings()
    cache_dir = config.cache_dir or settings.cache_dir
    embedding_model = config.embedding_model or settings.embedding_model
    timings: dict[str, float] = {}
    started = time.perf_counter()

    remove_partial(out_dir)  # what an interrupted training into the same folder left behind
    tickets, sample = _load(paths, mapping, config, labelled, spark)
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

    head = choose_head(config.loss, config.C, train_part[heads[0]].tolist())
    logger.info("linear head: %s, C %g (%s)", head.loss, head.C, head.reason)
    refit = config.refit and len(test_part) > 0
    tuning = decide_fine_tune(
        config.fine_tune, train_part[heads[0]].tolist(), uses_embeddings=uses_embeddings(feature_set)
    )
    logger.info("fine-tuning the encoder: %s", tuning.reason)
    scratch = tempfile.TemporaryDirectory(prefix="triage-encoders-") if tuning.on else None  # until the bundle

    def fit(part: pd.DataFrame, *, novelty: bool) -> TriageModel:
        auto = config.novelty_false_alarm_rate == "auto"
        rate = config.novelty_false_alarm_rate if novelty else None
        tuned = None
        learnable = part[heads[0]].value_counts().ge(max(config.min_class_count, config.calibration_folds)).sum()
        if scratch is not None and learnable >= 2:  # cross-fitted when shipped (novelty): it picks the thresholds
            t = time.perf_counter()
            tuned = tune_encoders(
                embedding_model,
                part["text"].tolist(),
                part[heads[0]].tolist(),
                Path(scratch.name) / f"{len(part)}-{novelty}",
                cross_fit=novelty,
                n_folds=config.calibration_folds,
                max_tokens=config.max_tokens,
                quantize=config.quantize,
                settings=FineTuneSettings(seed=config.seed),
            )
            timings["fine_tune"] = timings.get("fine_tune", 0.0) + time.perf_counter() - t
        return TriageModel(
            feature_set=feature_set,
            encoder_dir=tuned.encoder_dir if tuned else encoder_dir,
            cache_path=None if tuned else cache_path,  # a fine-tuned encoder's embeddings are never reused
            C=head.C,
            loss=head.loss,
            class_weight=config.class_weight,
            calibration_folds=config.calibration_folds,
            min_class_count=config.min_class_count,
            novelty_false_alarm_rate=DEFAULT_FALSE_ALARM_RATE if rate == "auto" else rate,
            novelty_target=config.novelty_target if auto else None,
            novelty_seconds=config.novelty_seconds,
            precision_target=config.precision_targets.get(heads[0], config.precision_target),
            trees=bool(trees),
            progress=True,
        ).fit(
            part["text"].tolist(),
            part[heads],
            folds=tuned.folds if tuned else None,
            fold_encoders=tuned.fold_encoders if tuned else None,
        )

    t = time.perf_counter()
    metrics: dict[str, Any] = {}
    try:
        model = fit(train_part, novelty=not refit)  # to be refitted: only measured, so no novelty check
    except ValueError as exc:
        if not refit or "no head could be trained" not in str(exc):
            raise
        # a desk with a handful of tickets per class: holding some out leaves too few to learn from
        logger.warning("no hold-out estimate: without the held-out tickets %s; training on every ticket", exc)
        err_note = f"no hold-out estimate: the training part alone was too small ({exc})"
        split = Split(split.train, split.test, split.method, f"{split.description}; {err_note}")
    else:
        timings["fit"] = time.perf_counter() - t
        t = time.perf_counter()
        metrics = evaluate_model(model, test_part) if len(test_part) else {}
        timings["evaluate"] = time.perf_counter() - t
        if refit:
            del model  # its memory, before the larger fit
    if refit:
        t = time.perf_counter()
        logger.info("fitting the shipped model on all %d tickets", len(frame))
        model = fit(frame, novelty=True)
        timings["refit"] = time.perf_counter() - t
    targets, thresholds, per_class = choose_thresholds(model, config)
    novelty_rate = model.novelty_rate_choice_
    if novelty_rate is not None:
        logger.info("novelty check: %s", novelty_rate.reason)

    training_info = {
        "split": {
            "method": split.method,
            "description": split.description,
            "n_train": len(split.train),
            "n_test": len(split.test),
        },
        "final_model": {
            "refit": refit,
            "n_tickets": len(frame) if refit else len(split.train),
            "description": (
                f"the metrics are the hold-out estimate of a model fitted on {len(split.train)} tickets; the shipped "
                f"model was then fitted on all {len(frame)} tickets"
                if refit and metrics
                else f"no hold-out estimate (too few tickets per class to hold some out); fitted on all {len(frame)}"
                if refit
                else f"the shipped model is the one measured, fitted on {len(split.train)} tickets"
            ),
        },
        "novelty_rate": novelty_rate.model_dump(mode="json") if novelty_rate is not None else None,
        "fine_tune": {
            **asdict(tuning),
            "settings": asdict(FineTuneSettings(seed=config.seed)) if tuning.on else None,
            "cross_fitted_folds": config.calibration_folds if tuning.on else None,
            "seconds": round(timings.get("fine_tune", 0.0), 1),
        },
        "head": asdict(head),
        "sample": sample.manifest(),
        "feature_selection": asdict(selection)
        if selection
        else {"chosen": feature_set, "trees": bool(trees), "reason": "given"},
        "embedding_model": embedding_model if uses_embeddings(feature_set) else None,
        "config": config.model_dump(mode="json"),
    }
    data = {
        "fingerprint": fingerprint(frame, heads),  # of the tickets used
        "n_tickets": len(frame),
        "n_available": sample.n_available,
        "files": tickets.quality.files,
    }
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
                    "refit": refit,
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
                    **(
                        {
                            f"novelty.{k}": v
                            for k, v in novelty_rate.model_dump().items()
                            if k in ("false_alarm_rate", "new_kinds_deferred", "ordinary_flagged", "auroc")
                            and v is not None
                        }
                        if novelty_rate is not None
                        else {}
                    ),
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
    return TrainResult(
        bundle, tickets, split, selection, metrics, timings, run.info.run_id if run else None, sample=sample
    )
