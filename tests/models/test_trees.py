"""Boosted trees beside the linear head: they learn word combinations a linear model cannot."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from training.selection import choose_feature_set
from triage.errors import ConfigError
from triage.evaluation import expected_calibration_error
from triage.models import CalibratedLinearHead, TriageModel, load_bundle, save_bundle
from triage.models.head import fit_fusion, fit_temperature
from triage.models.trees import WordTrees

FILLER = ["please", "help", "thanks", "team", "issue", "request", "today", "user", "laptop", "office", "morning"]


def xor_tickets(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """'access' and 'folder' apart, in any order, among filler words: one of them means storage, both or
    neither mean admin. No word or bigram says which; only the combination does."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        has_access, has_folder = rng.random(2) < 0.5
        words = rng.choice(FILLER, 6).tolist()
        if has_access:
            words.insert(int(rng.integers(0, 3)), "access")
        if has_folder:
            words.insert(len(words) - int(rng.integers(0, 3)), "folder")
        texts.append(" ".join(words))
        labels.append("storage" if has_access != has_folder else "admin")
    return texts, np.array(labels)


def word_counts(texts: list[str]) -> sparse.csr_matrix:
    vocabulary = {w: i for i, w in enumerate(["access", "folder", *FILLER])}
    rows = [[vocabulary[w] for w in t.split()] for t in texts]
    data = [np.ones(len(r)) for r in rows]
    indptr = np.cumsum([0, *map(len, rows)])
    return sparse.csr_matrix((np.concatenate(data), np.concatenate(rows), indptr), shape=(len(texts), len(vocabulary)))


def test_trees_learn_a_word_combination_the_linear_head_cannot() -> None:
    texts, y = xor_tickets(1500)
    test_texts, y_test = xor_tickets(1000, seed=1)
    X, X_test = word_counts(texts), word_counts(test_texts)
    linear = CalibratedLinearHead().fit(X, y)
    fused = CalibratedLinearHead(trees=True).fit(X, y)
    assert (linear.predict(X_test) == y_test).mean() < 0.7
    assert (fused.predict(X_test) == y_test).mean() > 0.95
    assert fused.tree_weight_ > 0 and len(fused.trees_) == fused.calibration_folds
    proba = fused.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert expected_calibration_error(proba.max(1), fused.predict(X_test) == y_test) < 0.05


def test_trees_read_only_their_columns() -> None:
    texts, y = xor_tickets(400)
    X = word_counts(texts)
    leak = sparse.csr_matrix((y == "admin").astype(float)[:, None])  # a perfect column after the words
    trees = WordTrees(columns=X.shape[1]).fit(sparse.hstack([X, leak], format="csr"), (y == "admin").astype(int))
    assert trees.words_.max() < X.shape[1]
    flipped = sparse.hstack([X, 1.0 - leak.toarray()], format="csr")
    np.testing.assert_array_equal(trees.predict_proba(flipped), trees.predict_proba(sparse.hstack([X, leak])))


def test_fusion_gives_useless_trees_no_weight() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 2000)
    logits = rng.normal(0, 1, (2000, 3))
    logits[np.arange(2000), y] += 2.0
    noise = np.log(rng.dirichlet(np.ones(3), 2000))
    beta, gamma = fit_fusion(logits, noise, y)
    assert gamma < 0.05
    assert beta == pytest.approx(fit_temperature(logits, y), rel=0.05)


def test_selection_keeps_trees_only_where_they_help() -> None:
    texts, y = xor_tickets(1200)
    chosen = choose_feature_set(texts, pd.Series(y), encoder_dir=None, cache_path=None, candidates=("tfidf",))
    assert chosen.trees and chosen.scores["tfidf+trees"]["accuracy"] > chosen.scores["tfidf"]["accuracy"] + 0.2
    assert "boosted trees add" in chosen.reason
    separable = np.where(np.char.find(np.array(texts), "access") >= 0, "storage", "admin")
    plain = choose_feature_set(texts, pd.Series(separable), encoder_dir=None, cache_path=None, candidates=("tfidf",))
    assert not plain.trees and "using tfidf" in plain.reason


def test_a_model_with_trees_survives_the_bundle(tmp_path: Path) -> None:
    texts, y = xor_tickets(600)
    labels = pd.DataFrame({"category": y, "tier": np.where(y == "admin", "L2", "L1")})
    model = TriageModel(feature_set="tfidf", trees=True).fit(texts, labels)
    bundle = save_bundle(model, tmp_path / "m")
    assert bundle.manifest.model_params["trees"] is True
    assert "with features `tfidf` and boosted trees on the words." in (tmp_path / "m" / "README.md").read_text()
    new_texts, _ = xor_tickets(50, seed=2)
    for head, proba in model.predict_proba(new_texts).items():
        np.testing.assert_allclose(bundle.model.predict_proba(new_texts)[head], proba)
    assert load_bundle(tmp_path / "m").model.heads_["category"].trees_


def test_trees_need_the_word_block() -> None:
    texts, y = xor_tickets(60)
    with pytest.raises(ConfigError, match="word TF-IDF"):
        TriageModel(feature_set="embedding", trees=True).fit(texts, pd.DataFrame({"category": y}))


def test_predictions_from_many_threads_match_one_thread() -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts, y = xor_tickets(400)
    X = word_counts(texts)
    trees = WordTrees().fit(X, (y == "admin").astype(int))
    rows = [X[i : i + 1] for i in range(200)]
    expected = [trees.predict_proba(r) for r in rows]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(trees.predict_proba, rows))
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)
