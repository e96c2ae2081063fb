"""The sentence-embedding feature unit: a scikit-learn transformer over :class:`OnnxEncoder`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from triage.features.cache import EmbeddingCache
from triage.features.encoder import OnnxEncoder


class SentenceEmbedding(TransformerMixin, BaseEstimator):
    """Unit-length sentence embeddings times ``weight`` (the weight balances them against TF-IDF blocks).
    A model without a Normalize module is scaled to unit length here: the direction is what it was trained
    for (cosine similarity), and the weight keeps its meaning whatever the model's scale.

    ``encoder_dir`` is an exported encoder folder (see :func:`triage.features.encoder.export_encoder`);
    ``cache_path`` an optional :class:`EmbeddingCache` file. The ONNX session is not pickled: a loaded
    model points ``encoder_dir`` at its bundle's copy.
    """

    def __init__(
        self,
        *,
        encoder_dir: str | Path | None = None,
        weight: float = 2.0,
        cache_path: str | Path | None = None,
        batch_size: int = 32,
        progress: bool = False,
    ) -> None:
        self.encoder_dir = encoder_dir
        self.weight = weight
        self.cache_path = cache_path
        self.batch_size = batch_size
        self.progress = progress

    @property
    def encoder(self) -> OnnxEncoder:
        """The ONNX encoder, loaded on first use."""
        current: OnnxEncoder | None = getattr(self, "_encoder", None)
        if current is None or current.folder != Path(str(self.encoder_dir)):
            if self.encoder_dir is None:
                raise ValueError("SentenceEmbedding needs encoder_dir")
            current = self._encoder = OnnxEncoder(self.encoder_dir)
        return current

    def fit(self, X: Any, y: Any = None) -> SentenceEmbedding:
        """Stateless apart from checking the encoder: embeddings are not learned here."""
        self.n_features_out_ = self.encoder.dim
        self.encoder_key_ = self.encoder.key
        return self

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings (the encoder's, cached when ``cache_path`` is set)."""
        encoder = self.encoder

        def compute(todo: list[str]) -> np.ndarray:
            return encoder.encode(todo, batch_size=self.batch_size, progress=self.progress and len(todo) > 256)

        if self.cache_path is None:
            vectors = compute(texts)
        else:
            vectors = EmbeddingCache(self.cache_path).get_or_compute(encoder.key, texts, compute, encoder.dim)
        if encoder.meta.get("normalized", True):
            return vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)

    def transform(self, X: Any) -> np.ndarray:
        """Weighted embeddings of the texts in ``X`` (a sequence of strings)."""
        check_is_fitted(self, "n_features_out_")
        return self.embed([str(t) for t in X]) * np.float32(self.weight)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        return np.array([f"emb{i}" for i in range(self.n_features_out_)], dtype=object)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_encoder", None)
        return state
