"""Adapting the sentence encoder to a desk's classes, for desks with little history (SetFit-style).

A frozen encoder with a linear head tops out near 85% on Banking77 with 10 tickets per intent. Contrastive
fine-tuning pulls a class's tickets together and pushes other classes away before the head is fitted: here
with sentence-transformers' own trainer and the multiple-negatives ranking loss on pairs of tickets of one
class (each ticket is paired with another ticket of its class, anew in each of ``pairs_per_ticket`` passes;
in a batch every other pair's positive is a negative). On Banking77 with 10 tickets per intent this lifted a
logistic regression on the embeddings from 85.2% to 86.4% in process (the shipped head: 84.7% to 85.5% through
the CLI), where batch-all triplet loss on batches grouped by label gained a point at best and collapsed at a
higher learning rate (benchmarks/README.md, "Adapting the encoder"). The fine-tuned model is exported with
the usual exporter (:func:`~triage.features.export.export_sentence_transformer`: ONNX, int8 by default), so
serving needs no torch.

Honest out-of-fold scores: thresholds, calibration and conformal sets come from out-of-fold scores, and an
encoder fine-tuned on a ticket would make that ticket's score over-confident. :func:`cross_fitted_encoders`
fine-tunes one encoder per fold on the other folds' tickets only; the model scores each training ticket with
the encoder of its own fold (:meth:`triage.models.TriageModel.fit` with ``folds``/``fold_encoders``).

Training-time only (torch, sentence-transformers, datasets, accelerate: the ``train`` extra).

>>> decide_fine_tune("auto", ["a"] * 10 + ["b"] * 10, uses_embeddings=True).on
True
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

logger = logging.getLogger(__name__)

# auto fine-tunes when classes are small: on Banking77 a frozen MiniLM with the linear head reaches 75% at 5
# tickets per intent, 83.5% at 10 and already 88% at 20 (benchmarks/README.md, "A desk with little history"),
# where fine-tuning would cost twice as much as at 10 for what is left to gain.
AUTO_MAX_MEDIAN_PER_CLASS = 15
# ... and when the CPU cost is bounded: the encoder is fine-tuned once per calibration fold, once on every
# ticket and once for the hold-out estimate, each on ``FineTuneSettings.pairs_per_ticket`` pairs per ticket.
AUTO_MAX_TICKETS = 3_000


@dataclass(frozen=True)
class FineTuneSettings:
    """How the encoder is fine-tuned: one pass over ``pairs_per_ticket`` pairs per ticket, capped at
    ``max_examples`` pairs (the CPU budget), in batches of ``batch_size`` pairs."""

    pairs_per_ticket: int = 5
    max_examples: int = 8_000
    batch_size: int = 64
    learning_rate: float = 5e-5
    seed: int = 0


@dataclass(frozen=True)
class FineTuneDecision:
    """Whether to fine-tune, and why (for the manifest and the CLI)."""

    on: bool
    reason: str
    median_per_class: float = 0.0


def class_sizes(labels: Sequence[object]) -> tuple[int, np.ndarray, float]:
    """The labelled tickets (no None or NaN), each class's count, and the median count (0 without any).

    >>> known, counts, median = class_sizes(["a", "a", "b", None, float("nan")])
    >>> known, counts.tolist(), median
    (3, [2, 1], 1.5)
    """
    known = [str(v) for v in labels if v is not None and v == v]
    counts = np.unique(known, return_counts=True)[1] if known else np.zeros(0, dtype=int)
    return len(known), counts, float(np.median(counts)) if len(counts) else 0.0


def decide_fine_tune(
    mode: str,
    labels: Sequence[object],
    *,
    uses_embeddings: bool,
    max_median: int = AUTO_MAX_MEDIAN_PER_CLASS,
    max_tickets: int = AUTO_MAX_TICKETS,
) -> FineTuneDecision:
    """``on``/``off`` as given; ``auto``: fine-tune when the median class has fewer than ``max_median``
    tickets and there are at most ``max_tickets`` labelled tickets (Banking77 with 10,003 tickets, about 130
    per intent, and the IT tickets, thousands per class, are never fine-tuned by auto)."""
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"fine_tune is auto, on or off, got {mode!r}")
    known, counts, median = class_sizes(labels)
    facts = f"{known} labelled tickets, median {median:g} per class"
    if mode == "off":
        return FineTuneDecision(False, "off (--fine-tune off)", median)
    if not uses_embeddings:
        if mode == "on":
            raise ValueError("fine-tuning adapts the sentence encoder: the feature set has no embeddings")
        return FineTuneDecision(False, "auto: the feature set has no embeddings", median)
    if len(counts) < 2:
        return FineTuneDecision(False, f"{facts}: fine-tuning needs two classes", median)
    if mode == "on":
        return FineTuneDecision(True, f"on (--fine-tune on), {facts}", median)
    if median >= max_median:
        return FineTuneDecision(False, f"auto: {facts}, not under {max_median}: enough to learn from", median)
    if known > max_tickets:
        return FineTuneDecision(False, f"auto: {facts}, but more than {max_tickets} tickets (CPU cost)", median)
    return FineTuneDecision(True, f"auto: {facts} (under {max_median}, at most {max_tickets} tickets)", median)


def ticket_folds(labels: Sequence[object], n_folds: int, *, seed: int = 0) -> np.ndarray:
    """A fold number per ticket, stratified on ``labels``; tickets without a label, or of a class with fewer
    than ``n_folds`` tickets, are spread over the folds in turn (no fold encoder learns from them anyway)."""
    y = np.array([str(v) if v is not None and v == v else "" for v in labels], dtype=object)
    folds = np.arange(len(y)) % n_folds
    values, counts = np.unique(y, return_counts=True)
    stratified = (y != "") & np.isin(y, values[counts >= n_folds])
    rows = np.flatnonzero(stratified)
    if len(np.unique(y[rows])) >= 2:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
        for k, (_, out) in enumerate(splitter.split(np.zeros(len(rows)), y[rows])):
            folds[rows[out]] = k
    return folds


def _trainable(texts: Sequence[str], labels: Sequence[object]) -> tuple[list[str], list[int]]:
    """Labelled tickets of classes with at least two tickets (a pair needs a second ticket), as label ids."""
    y = [str(v) if v is not None and v == v else None for v in labels]
    names, counts = np.unique([v for v in y if v is not None], return_counts=True)
    usable = {name: i for i, name in enumerate(names[counts >= 2])}
    keep = [i for i, v in enumerate(y) if v is not None and v in usable]
    if len({y[i] for i in keep}) < 2:
        raise ValueError("fine-tuning needs at least two classes with two labelled tickets each")
    return [str(texts[i]) for i in keep], [usable[str(y[i])] for i in keep]


def same_class_pairs(
    texts: Sequence[str], label_ids: Sequence[int], passes: int, *, limit: int, seed: int = 0
) -> tuple[list[str], list[str]]:
    """``(anchors, positives)``: in each pass every ticket once, in a shuffled order, beside another ticket of
    its class drawn at random; at most ``limit`` pairs.

    >>> anchors, positives = same_class_pairs(["a", "b", "c", "d"], [0, 0, 1, 1], 2, limit=10)
    >>> sorted(zip(anchors, positives))
    [('a', 'b'), ('a', 'b'), ('b', 'a'), ('b', 'a'), ('c', 'd'), ('c', 'd'), ('d', 'c'), ('d', 'c')]
    """
    rng = np.random.default_rng(seed)
    members: dict[int, list[int]] = {}
    for i, label in enumerate(label_ids):
        members.setdefault(int(label), []).append(i)
    anchors: list[str] = []
    positives: list[str] = []
    for _ in range(passes):
        for i in rng.permutation(len(texts)).tolist():
            others = [j for j in members[int(label_ids[i])] if j != i]
            anchors.append(str(texts[i]))
            positives.append(str(texts[others[int(rng.integers(len(others)))]]))
    return anchors[:limit], positives[:limit]


def fine_tune(
    model_name: str,
    texts: Sequence[str],
    labels: Sequence[object],
    out_dir: str | Path,
    *,
    settings: FineTuneSettings | None = None,
) -> Path:
    """Fine-tune a sentence-transformer on labelled tickets (multiple-negatives ranking loss on pairs of one
    class) and save it, as a sentence-transformers folder, to ``out_dir``."""
    import torch
    from sentence_transformers.sentence_transformer import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import (
        BatchSamplers,
        SentenceTransformerTrainingArguments,
    )
    from transformers import PrinterCallback
    from transformers.utils import logging as hf_logging

    from datasets import Dataset  # type: ignore[attr-defined,unused-ignore]  # mypy may see the repo's datasets/
    from triage.features.export import load_sentence_transformer, no_progress_bars

    class _QuietTrainer(SentenceTransformerTrainer):  # type: ignore[misc,unused-ignore]
        def add_model_card_callback(self, default_args_dict: dict[str, object]) -> None:
            """No model card: it would draw a progress bar over "widget examples" of the tickets (and draw from
            Python's global random numbers) for a card that nobody publishes."""

    settings = settings or FineTuneSettings()
    train_texts, label_ids = _trainable(texts, labels)
    anchors, positives = same_class_pairs(
        train_texts, label_ids, settings.pairs_per_ticket, limit=settings.max_examples, seed=settings.seed
    )
    model = load_sentence_transformer(model_name).train()
    batch = min(settings.batch_size, max(2, len(anchors) // 2))
    steps = max(1, math.ceil(len(anchors) / batch))
    torch.manual_seed(settings.seed)
    with tempfile.TemporaryDirectory(prefix="triage-finetune-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            max_steps=steps,
            per_device_train_batch_size=batch,
            learning_rate=settings.learning_rate,
            warmup_steps=0.1,
            batch_sampler=BatchSamplers.NO_DUPLICATES,  # a text twice in a batch would be its own negative
            save_strategy="no",
            report_to=[],
            logging_strategy="no",
            seed=settings.seed,
            data_seed=settings.seed,
            use_cpu=True,
            disable_tqdm=True,
            dataloader_drop_last=False,
        )
        dataset = Dataset.from_dict({"anchor": anchors, "positive": positives})
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the trainer's notices are not for a desk
        try:
            started = time.perf_counter()
            trainer = _QuietTrainer(
                model=model, args=args, train_dataset=dataset, loss=MultipleNegativesRankingLoss(model)
            )
            trainer.remove_callback(PrinterCallback)  # it prints the run's summary on stdout, the CLI's
            trainer.train()
        finally:
            hf_logging.set_verbosity(verbosity)
    logger.info(
        "fine-tuned the encoder on %d pairs of %d tickets of %d classes: %d steps of %d in %.0f s",
        len(anchors),
        len(train_texts),
        len(set(label_ids)),
        steps,
        batch,
        time.perf_counter() - started,
    )
    out = Path(out_dir)
    with no_progress_bars():
        model.eval().save(str(out), create_model_card=False)
    return out


def fine_tuned_encoder(
    model_name: str,
    texts: Sequence[str],
    labels: Sequence[object],
    out_dir: str | Path,
    *,
    max_tokens: int = 128,
    quantize: bool = True,
    settings: FineTuneSettings | None = None,
) -> Path:
    """Fine-tune on the tickets and export the result as an encoder folder (ONNX, int8 unless ``quantize`` is
    False) in ``out_dir``; the sentence-transformers folder is kept beside it, in ``<out_dir>.st``."""
    from triage.features.export import export_sentence_transformer

    out = Path(out_dir)
    tuned = fine_tune(model_name, texts, labels, out.with_name(out.name + ".st"), settings=settings)
    return export_sentence_transformer(str(tuned), out, max_tokens=max_tokens, quantize=quantize)


def cross_fitted_encoders(
    model_name: str,
    texts: Sequence[str],
    labels: Sequence[object],
    folds: np.ndarray,
    out_dir: str | Path,
    *,
    max_tokens: int = 128,
    quantize: bool = True,
    settings: FineTuneSettings | None = None,
) -> list[Path]:
    """One exported encoder per fold, fine-tuned on the tickets of the other folds only (``folds[i]`` is
    ticket ``i``'s fold): the encoder that scores a ticket out of fold never saw it."""
    folds = np.asarray(folds)
    if len(folds) != len(texts) or len(labels) != len(texts):
        raise ValueError(f"{len(texts)} texts, {len(labels)} labels and {len(folds)} fold numbers")
    encoders = []
    for k in range(int(folds.max()) + 1):
        rows = np.flatnonzero(folds != k).tolist()
        encoders.append(
            fine_tuned_encoder(
                model_name,
                [texts[i] for i in rows],
                [labels[i] for i in rows],
                Path(out_dir) / f"fold{k}",
                max_tokens=max_tokens,
                quantize=quantize,
                settings=settings,
            )
        )
    return encoders


@dataclass(frozen=True)
class TunedEncoders:
    """The encoder fine-tuned on every ticket, and (cross-fitted) one per fold with each ticket's fold."""

    encoder_dir: Path
    folds: np.ndarray | None = None
    fold_encoders: list[Path] | None = None
    seconds: float = 0.0


def tune_encoders(
    model_name: str,
    texts: Sequence[str],
    labels: Sequence[object],
    out_dir: str | Path,
    *,
    cross_fit: bool,
    n_folds: int = 3,
    max_tokens: int = 128,
    quantize: bool = True,
    settings: FineTuneSettings | None = None,
) -> TunedEncoders:
    """The encoders a model fitted on these tickets needs: one fine-tuned on every ticket and, with
    ``cross_fit`` (a model whose out-of-fold scores choose the shipped thresholds), one per fold
    (:func:`cross_fitted_encoders`), with the folds (:func:`ticket_folds`) the model must score out of."""
    started = time.perf_counter()
    out = Path(out_dir)
    folds = ticket_folds(labels, n_folds, seed=(settings or FineTuneSettings()).seed) if cross_fit else None
    fold_encoders = (
        cross_fitted_encoders(
            model_name, texts, labels, folds, out, max_tokens=max_tokens, quantize=quantize, settings=settings
        )
        if folds is not None
        else None
    )
    full = fine_tuned_encoder(
        model_name, texts, labels, out / "all", max_tokens=max_tokens, quantize=quantize, settings=settings
    )
    return TunedEncoders(full, folds, fold_encoders, time.perf_counter() - started)
