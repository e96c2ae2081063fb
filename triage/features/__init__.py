"""Feature units (word and character TF-IDF, sentence embeddings) and the named feature sets built of them."""

from __future__ import annotations

from pathlib import Path

from sklearn.pipeline import FeatureUnion

from triage.errors import ConfigError
from triage.features.embedding import SentenceEmbedding
from triage.features.text import char_tfidf, word_tfidf

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "tfidf": ("word", "char"),
    "tfidf+embedding": ("word", "char", "embedding"),
    "embedding": ("embedding",),
}


def uses_embeddings(feature_set: str) -> bool:
    """Whether a feature set needs the sentence encoder."""
    return "embedding" in FEATURE_SETS[feature_set]


def build_features(
    feature_set: str,
    *,
    encoder_dir: str | Path | None = None,
    cache_path: str | Path | None = None,
    embedding_weight: float = 2.0,
    progress: bool = False,
) -> FeatureUnion:
    """The unfitted feature union of a named set: ``tfidf``, ``tfidf+embedding`` or ``embedding``."""
    if feature_set not in FEATURE_SETS:
        raise ConfigError(f"unknown feature set {feature_set!r}; choose one of {list(FEATURE_SETS)}")
    units = {
        "word": lambda: word_tfidf(),
        "char": lambda: char_tfidf(),
        "embedding": lambda: SentenceEmbedding(
            encoder_dir=encoder_dir, weight=embedding_weight, cache_path=cache_path, progress=progress
        ),
    }
    return FeatureUnion([(name, units[name]()) for name in FEATURE_SETS[feature_set]])


__all__ = [
    "FEATURE_SETS",
    "SentenceEmbedding",
    "build_features",
    "char_tfidf",
    "uses_embeddings",
    "word_tfidf",
]
