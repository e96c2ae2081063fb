"""The triage model: one feature union shared by every head, and one calibrated classifier per head.

>>> from triage.models import TriageModel
>>> model = TriageModel(feature_set="tfidf").fit(texts, labels)  # doctest: +SKIP
>>> model.predict(["VPN drops every hour"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from sklearn import config_context
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import FeatureUnion

from triage.data.mapping import HEADS
from triage.errors import ConfigError
from triage.features import FEATURE_SETS, SentenceEmbedding, build_features, uses_embeddings
from triage.features.text import transform_unit
from triage.models.head import CalibratedLinearHead
from triage.models.novelty import NearestNeighbourNovelty
from triage.models.novelty_rate import NoveltyRateChoice, simulate_new_kinds

if TYPE_CHECKING:
    import pandas as pd


class TriageModel:
    """Predicts every head present in the training labels, with calibrated probabilities.

    Heads whose label column is absent or has fewer than two learnable classes are not trained (see
    ``skipped_heads_``). Classes with fewer than ``min_class_count`` tickets are left out of their head.
    ``trees=True`` fuses each head's linear scores with boosted trees on the word TF-IDF block.
    ``novelty_target`` set: the novelty check's false-alarm rate is chosen by leave-classes-out rounds (for
    ``novelty_seconds``) as the lowest that defers that share of simulated new kinds of request
    (:func:`~triage.models.novelty_rate.simulate_new_kinds`, kept in ``novelty_rate_choice_``);
    ``novelty_false_alarm_rate`` is then the fallback when too few classes allow no simulation, and
    ``precision_target`` the one the novelty head's threshold is chosen for (a ticket under it is deferred).
    """

    def __init__(
        self,
        *,
        feature_set: str = "tfidf+embedding",
        encoder_dir: str | Path | None = None,
        cache_path: str | Path | None = None,
        embedding_weight: float = 2.0,
        C: float = 0.5,
        loss: str = "svm",
        class_weight: str | None = "balanced",
        calibration_folds: int = 3,
        min_class_count: int = 5,
        novelty_false_alarm_rate: float | None = 0.2,
        novelty_target: float | None = None,
        novelty_seconds: float = 30.0,
        precision_target: float | None = 0.95,
        trees: bool = False,
        progress: bool = False,
    ) -> None:
        self.feature_set = feature_set
        self.encoder_dir = encoder_dir
        self.cache_path = cache_path
        self.embedding_weight = embedding_weight
        self.C = C
        self.loss = loss
        self.class_weight = class_weight
        self.calibration_folds = calibration_folds
        self.min_class_count = min_class_count
        self.novelty_false_alarm_rate = novelty_false_alarm_rate
        self.novelty_target = novelty_target
        self.novelty_seconds = novelty_seconds
        self.precision_target = precision_target
        self.trees = trees
        self.progress = progress

    @property
    def uses_embeddings(self) -> bool:
        """Whether prediction needs the sentence encoder."""
        return uses_embeddings(self.feature_set)

    def _head(self, blocks: dict[str, Any]) -> CalibratedLinearHead:
        return CalibratedLinearHead(
            C=self.C,
            loss=self.loss,
            class_weight=self.class_weight,
            calibration_folds=self.calibration_folds,
            trees=self.trees,
            tree_columns=blocks["word"].shape[1] if self.trees else None,  # the word block comes first
        )

    def fit(
        self,
        texts: Sequence[str],
        labels: pd.DataFrame,
        *,
        folds: np.ndarray | None = None,
        fold_encoders: Sequence[str | Path] | None = None,
    ) -> TriageModel:
        """Fit on cleaned ticket texts and a frame with one column per head (missing labels as NA).

        With an encoder fine-tuned on these tickets (``encoder_dir``), ``fold_encoders[k]`` is the one
        fine-tuned without the tickets of fold ``k`` (``folds[i]`` is ticket ``i``'s fold): every head scores a
        ticket out of fold with the encoder that never saw it, so thresholds, calibration and conformal sets
        stay honest (:func:`triage.features.finetune.cross_fitted_encoders`)."""
        import pandas as pd

        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} label rows")
        if (folds is None) != (fold_encoders is None):
            raise ValueError("folds and fold_encoders go together")
        if fold_encoders is not None and not self.uses_embeddings:
            raise ConfigError(f"fold encoders need a feature set with embeddings, not {self.feature_set!r}")
        if self.trees and FEATURE_SETS.get(self.feature_set, ("word",))[0] != "word":
            raise ConfigError(f"boosted trees read word TF-IDF, which feature set {self.feature_set!r} lacks")
        texts = [str(t) for t in texts]
        self.features_: FeatureUnion = build_features(
            self.feature_set,
            encoder_dir=self.encoder_dir,
            cache_path=self.cache_path,
            embedding_weight=self.embedding_weight,
            progress=self.progress,
        )
        blocks = {name: unit.fit_transform(texts) for name, unit in self.features_.transformer_list}
        X = self._stack(blocks)
        fold_X = None
        if fold_encoders is not None:
            fold_X = [
                self._stack({**blocks, "embedding": self._fold_embedding(encoder, texts)}) for encoder in fold_encoders
            ]
        self.heads_: dict[str, CalibratedLinearHead] = {}
        self.skipped_heads_: dict[str, str] = {}
        self.excluded_classes_: dict[str, dict[str, int]] = {}
        heads = [h for h in HEADS if h in labels.columns]
        kept: dict[str, np.ndarray] = {}
        for head in self._progress(heads, "fitting heads"):
            y = labels[head].to_numpy(dtype=object)
            known = pd.notna(labels[head]).to_numpy()
            counts = pd.Series(y[known]).value_counts()
            rare = counts[counts < max(self.min_class_count, self.calibration_folds)]
            self.excluded_classes_[head] = {str(k): int(v) for k, v in rare.items()}
            keep = known & ~np.isin(y, rare.index.to_numpy())
            if len(counts) - len(rare) < 2:
                self.skipped_heads_[head] = f"{len(counts) - len(rare)} learnable class(es); a head needs 2"
                continue
            rows_X = X if keep.all() else X[keep]  # a head of every ticket reads X itself, not a copy
            cross = {} if fold_X is None else {"folds": np.asarray(folds)[keep], "fold_X": [F[keep] for F in fold_X]}
            self.heads_[head] = self._head(blocks).fit(rows_X, y[keep].astype(str), **cross)
            kept[head] = keep
        if not self.heads_:
            raise ValueError(f"no head could be trained: {self.skipped_heads_ or 'no label columns'}")
        self.novelty_: NearestNeighbourNovelty | None = None
        self.novelty_head_: str | None = None
        self.novelty_rate_choice_: NoveltyRateChoice | None = None
        if self.novelty_false_alarm_rate is not None:
            # The first head (category when present) says how well the classifier explains a ticket; its
            # out-of-fold confidences on held-out training tickets calibrate the novelty score.
            self.novelty_head_ = next(iter(self.heads_))
            head = self.heads_[self.novelty_head_]
            rate = self.novelty_false_alarm_rate
            if self.novelty_target is not None:
                self.novelty_rate_choice_ = self._choose_novelty_rate(blocks, X, labels, kept)
                rate = self.novelty_rate_choice_.false_alarm_rate
            rows = np.flatnonzero(kept[self.novelty_head_])[head.heldout_index_]
            self.novelty_ = NearestNeighbourNovelty(false_alarm_rate=rate).fit(
                self._representation(blocks), confidence=head.heldout_top_, calibration_rows=rows
            )
        return self

    def _fold_embedding(self, encoder_dir: str | Path, texts: list[str]) -> np.ndarray:
        """The embedding block of the texts by a fold's encoder (not cached: a fold encoder is used once)."""
        unit = SentenceEmbedding(encoder_dir=encoder_dir, weight=self.embedding_weight, progress=self.progress)
        return np.asarray(unit.fit_transform(texts))

    def _choose_novelty_rate(
        self, blocks: dict[str, Any], X: Any, labels: pd.DataFrame, kept: dict[str, np.ndarray]
    ) -> NoveltyRateChoice:
        """Leave-classes-out rounds on the novelty head's tickets, with this model's classifier settings."""
        assert self.novelty_head_ is not None and self.novelty_target is not None
        rows = np.flatnonzero(kept[self.novelty_head_])
        y = labels[self.novelty_head_].to_numpy(dtype=object)[rows].astype(str)
        Z = self._representation(blocks)
        base = self._head(blocks)._base

        def classifier() -> Any:
            return base()

        every = len(rows) == X.shape[0]  # no copy of the matrices when the head kept every ticket
        return simulate_new_kinds(
            X if every else X[rows],
            Z if every else Z[rows],
            y,
            classifier,
            target=self.novelty_target,
            seconds=self.novelty_seconds,
            precision_target=self.precision_target,
            fallback=float(self.novelty_false_alarm_rate or 0.2),
        )

    def _progress(self, items: list[str], desc: str) -> Any:
        if not self.progress:
            return items
        from tqdm.auto import tqdm

        return tqdm(items, desc=desc, unit="head", disable=None)

    def blocks(self, texts: Sequence[str]) -> dict[str, Any]:
        """Each feature unit's output for the texts, by unit name (``word``, ``char``, ``embedding``)."""
        if not hasattr(self, "heads_"):
            raise NotFittedError("this TriageModel is not fitted yet; call fit() or load a bundle")
        texts = [str(t) for t in texts]
        return {name: transform_unit(unit, texts) for name, unit in self.features_.transformer_list}

    @staticmethod
    def _stack(blocks: dict[str, Any]) -> Any:
        """The units' outputs side by side, as FeatureUnion stacks them, without its per-call overhead."""
        parts = [sparse.csr_matrix(b) if isinstance(b, np.ndarray) else b for b in blocks.values()]
        return sparse.hstack(parts, format="csr")

    @staticmethod
    def _representation(blocks: dict[str, Any]) -> Any:
        """Where novelty is measured: sentence embeddings when the model has them, else word TF-IDF."""
        return blocks["embedding"] if "embedding" in blocks else blocks["word"]

    def transform(self, texts: Sequence[str]) -> Any:
        """The shared feature matrix of the texts (computed once for all heads)."""
        return self._stack(self.blocks(texts))

    def analyse(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Per-head probabilities and each ticket's novelty score (``None`` without a novelty detector),
        from one pass over the features. scikit-learn's scan of every input for NaN and infinity is skipped
        here: TF-IDF weights and unit-length embeddings are finite, and the scan ran on every call."""
        with config_context(assume_finite=True):
            blocks = self.blocks(texts)
            probabilities = self.predict_proba(texts, features=self._stack(blocks))
            novelty = getattr(self, "novelty_", None)
            if novelty is None:
                return probabilities, None
            head = self.novelty_head_ if novelty.uses_confidence_ else None
            confidence = probabilities[head].max(axis=1) if head is not None else None
            return probabilities, novelty.score(self._representation(blocks), confidence)

    def predict_proba(self, texts: Sequence[str], *, features: Any = None) -> dict[str, np.ndarray]:
        """Per head, calibrated probabilities with columns aligned to ``heads_[head].classes_``."""
        X = self.transform(texts) if features is None else features
        return {head: clf.predict_proba(X) for head, clf in self.heads_.items()}

    def classes(self, head: str) -> np.ndarray:
        """The labels of one head, in the column order of its probabilities."""
        return self.heads_[head].classes_

    def label_columns(self, probabilities: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per head, the ``HEAD`` (best label) and ``HEAD_confidence`` columns of given probabilities."""
        columns: dict[str, np.ndarray] = {}
        for head, proba in probabilities.items():
            columns[head] = self.classes(head)[proba.argmax(axis=1)]
            columns[f"{head}_confidence"] = proba.max(axis=1)
        return columns

    def predict(self, texts: Sequence[str]) -> pd.DataFrame:
        """One row per text with, per head, ``HEAD`` (label) and ``HEAD_confidence``."""
        import pandas as pd

        return pd.DataFrame(self.label_columns(self.predict_proba(texts)))
