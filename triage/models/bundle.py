"""The model bundle: a directory of inert files, a JSON manifest and its signature.

Layout (format 4; every name is fixed by the format, see :func:`~triage.models.manifest.expected_files`)::

    manifest.json              format version, heads and labels, parameters, thresholds, data fingerprint,
                               metrics, library versions, and the SHA-256 of every other file
    signature.json             Ed25519 signature of manifest.json by the training key
    features/word.skops        fitted TF-IDF vectorizers (skops), per feature unit
    features/char.skops
    heads/<head>.skops         the head's linear model (skops)
    heads/<head>.npz           its calibration, conformal scores and held-out arrays
    heads/<head>.trees-<k>.txt its boosted trees, LightGBM's text format (when trained with trees)
    novelty.npz                the novelty detector's reference and calibration (novelty-reference.npz
                               beside it when the reference is sparse)
    encoder/                   the ONNX sentence encoder, tokenizer and encoder.json (with embeddings)
    data_quality.json          the data-quality summary of the training export
    README.md                  a model card for people

:func:`load_bundle` checks the format version, then the signature against the trusted keys, then that the
folder holds exactly the expected files (no link, no extra file) with their checksums, and only then reads
them; no file format it reads can run code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from filelock import FileLock
from pydantic import ValidationError

from triage.errors import BundleError, BundleIntegrityError, BundleVersionError
from triage.features import build_features
from triage.features.encoder import OnnxEncoder
from triage.models import persist, signing
from triage.models.head import ClassThreshold
from triage.models.manifest import (
    FORMAT_VERSION,
    MANIFEST,
    OPTIONAL_FILES,
    HeadInfo,
    Manifest,
    NoveltyInfo,
    expected_files,
    model_card,
)
from triage.models.triage_model import TriageModel

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "Bundle",
    "HeadInfo",
    "Manifest",
    "load_bundle",
    "read_manifest",
    "save_bundle",
    "sign_bundle",
    "verify_bundle",
]

_LIBRARIES = ("triage", "scikit-learn", "lightgbm", "numpy", "scipy", "onnxruntime", "tokenizers", "skops", "pandas")


@dataclass
class Bundle:
    """A loaded bundle: the model and its manifest."""

    path: Path
    model: TriageModel
    manifest: Manifest

    @property
    def version(self) -> str:
        return self.manifest.model_version


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour the bundle depends on."""
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _settings_keys() -> tuple[Path, list[str]]:
    from triage.settings import get_settings

    settings = get_settings()
    return settings.signing_key, settings.trusted_keys


def default_trusted_keys() -> dict[str, Ed25519PublicKey]:
    """The keys of the settings: ``TRIAGE_TRUSTED_KEYS``, else the local signing key's public half."""
    signing_key, configured = _settings_keys()
    return signing.local_trusted_keys(configured, signing_key)


def _write_model(model: TriageModel, tmp: Path) -> tuple[dict[str, dict[str, Any]], NoveltyInfo | None]:
    """The fitted objects as files; returns each head's parameters and the novelty description."""
    (tmp / "features").mkdir(parents=True)
    (tmp / "heads").mkdir()
    for name, unit in model.features_.transformer_list:
        if name != "embedding":
            persist.save_vectorizer(unit, tmp / "features" / f"{name}.skops")
    heads = {head: persist.save_head(clf, tmp / "heads", head) for head, clf in model.heads_.items()}
    novelty = None
    if model.novelty_ is not None:
        saved = persist.save_novelty(model.novelty_, tmp)
        novelty = NoveltyInfo(
            representation="embedding" if model.uses_embeddings else "word tf-idf",
            false_alarm_rate=model.novelty_.false_alarm_rate,
            threshold=model.novelty_.threshold_,
            confidence_head=model.novelty_head_ if model.novelty_.uses_confidence_ else None,
            reference_tickets=int(model.novelty_.reference_.shape[0]),
            **saved,
        )
    return heads, novelty


def save_bundle(
    model: TriageModel,
    out_dir: str | Path,
    *,
    data: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    quality: dict[str, Any] | None = None,
    thresholds: dict[str, float | None] | None = None,
    precision_targets: dict[str, float] | None = None,
    class_thresholds: dict[str, dict[str, ClassThreshold]] | None = None,
    mapping: dict[str, Any] | None = None,
    signing_key: Path | None = None,
) -> Bundle:
    """Write ``model`` as a signed bundle directory (replacing one that is there) and return it loaded.

    The bundle is written to ``<out>.partial`` and renamed into place, under a lock beside it, so two
    trainings into one folder take turns and an interrupted one leaves nothing that the next does not clean.
    ``signing_key`` defaults to the settings' key, created on first use."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    key_path = signing_key or _settings_keys()[0]
    key = signing.load_or_create_signing_key(key_path)
    with FileLock(str(out.with_name(out.name + ".lock"))):
        tmp = out.with_name(out.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        heads, novelty = _write_model(model, tmp)
        encoder = None
        if model.uses_embeddings:
            shutil.copytree(Path(str(model.encoder_dir)), tmp / "encoder")
            encoder = json.loads((tmp / "encoder" / "encoder.json").read_text())
        if quality is not None:
            (tmp / "data_quality.json").write_text(json.dumps(quality, indent=2, default=str))
        created = datetime.now(UTC)
        fingerprint = (data or {}).get("fingerprint", "")
        params = {
            k: v for k, v in vars(model).items() if not k.endswith("_") and k not in ("encoder_dir", "cache_path")
        }
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            model_version=f"{created:%Y%m%d-%H%M%S}-{fingerprint[:8] or 'nodata'}",
            created_at=created,
            heads={
                head: HeadInfo(
                    labels=[str(c) for c in clf.classes_],
                    n_train=int(clf.n_train_),
                    excluded_classes=model.excluded_classes_.get(head, {}),
                    threshold=(thresholds or {}).get(head),
                    precision_target=(precision_targets or {}).get(head),
                    class_thresholds=(class_thresholds or {}).get(head, {}),
                    metrics=(metrics or {}).get(head, {}),
                    **heads[head],
                )
                for head, clf in model.heads_.items()
            },
            skipped_heads=model.skipped_heads_,
            model_params=params,
            encoder=encoder,
            novelty=novelty,
            data=data or {},
            metrics=metrics or {},
            training=training or {},
            library_versions=library_versions(),
            mapping=mapping,
            files={},
        )
        (tmp / "README.md").write_text(model_card(manifest))
        manifest.files = {p.relative_to(tmp).as_posix(): sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        unexpected = set(manifest.files) - expected_files(manifest)
        if unexpected:  # the writer and the reader must agree on the layout
            raise BundleError(f"internal: the bundle writer made files the format does not name: {sorted(unexpected)}")
        raw = manifest.model_dump_json(indent=2).encode()
        (tmp / MANIFEST).write_bytes(raw)
        (tmp / signing.SIGNATURE).write_text(json.dumps(signing.sign(raw, key), indent=2))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    return load_bundle(out, trusted_keys={signing.key_id(key.public_key()): key.public_key()})


def remove_partial(out_dir: str | Path) -> None:
    """Remove what an interrupted write left (``<out>.partial``), unless a training is writing it now."""
    out = Path(out_dir)
    tmp = out.with_name(out.name + ".partial")
    if not tmp.exists():
        return
    from filelock import Timeout

    try:
        with FileLock(str(out.with_name(out.name + ".lock")), timeout=0):
            shutil.rmtree(tmp, ignore_errors=True)
    except Timeout:
        pass  # another training holds the lock: the folder is its work in progress


def _read_raw_manifest(root: Path) -> tuple[bytes, dict[str, Any]]:
    path = root / MANIFEST
    if path.is_symlink() or not path.is_file():
        raise BundleError(f"{root}: not a model bundle (no {MANIFEST}); train one with `triage train`")
    raw = path.read_bytes()
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from exc
    version = parsed.get("format_version") if isinstance(parsed, dict) else None
    if version != FORMAT_VERSION:
        raise BundleVersionError(
            f"{root}: bundle format version {version!r}, this triage reads version {FORMAT_VERSION}; "
            "retrain the model with this version of triage"
        )
    return raw, parsed


def _validate(root: Path, parsed: dict[str, Any]) -> Manifest:
    try:
        return Manifest.model_validate(parsed)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BundleError(
            f"{root / MANIFEST}: invalid manifest ({exc.error_count()} problems; {where}: {first['msg']})"
        ) from exc


def read_manifest(bundle_dir: str | Path) -> Manifest:
    """The manifest of a bundle, validated, without checking its signature or loading anything else (for
    showing what a bundle is; :func:`verify_bundle` before trusting it)."""
    root = Path(bundle_dir)
    _, parsed = _read_raw_manifest(root)
    return _validate(root, parsed)


def _files_on_disk(root: Path) -> set[str]:
    """Every file under the bundle folder, refusing links and anything that is neither file nor folder."""
    found = set()
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise BundleIntegrityError(f"{root}: {relative} is a symbolic link; a bundle holds only files")
            if name in files:
                if not path.is_file():
                    raise BundleIntegrityError(f"{root}: {relative} is not a regular file")
                found.add(relative)
    return found - {MANIFEST, signing.SIGNATURE}


def verify_bundle(bundle_dir: str | Path, *, trusted_keys: Mapping[str, Ed25519PublicKey] | None = None) -> Manifest:
    """Check a bundle without loading it: format version, signature by a trusted key (``None``: the
    settings' keys), exactly the files the format names (no link, nothing unlisted), and every checksum."""
    root = Path(bundle_dir)
    raw, parsed = _read_raw_manifest(root)
    signing.verify(raw, signing.read_signature(root), default_trusted_keys() if trusted_keys is None else trusted_keys)
    manifest = _validate(root, parsed)
    check_files(root, manifest)
    return manifest


def sign_bundle(bundle_dir: str | Path, key_path: Path) -> str:
    """Sign a bundle's manifest with another key (say, a release key after review), once its files match
    the manifest; returns the key id. The bundle's earlier signature is replaced."""
    root = Path(bundle_dir)
    raw, parsed = _read_raw_manifest(root)
    check_files(root, _validate(root, parsed))
    key = signing.load_or_create_signing_key(key_path)
    (root / signing.SIGNATURE).write_text(json.dumps(signing.sign(raw, key), indent=2))
    return signing.key_id(key.public_key())


def check_files(root: Path, manifest: Manifest) -> None:
    """The folder holds exactly the files the format names for this manifest, each with its checksum."""
    expected = expected_files(manifest)
    listed = set(manifest.files)
    foreign = sorted(listed - expected)
    if foreign:
        raise BundleIntegrityError(f"{root}: the manifest lists files the bundle format does not have: {foreign}")
    unlisted = sorted(expected - listed - OPTIONAL_FILES)
    if unlisted:
        raise BundleIntegrityError(f"{root}: the manifest does not list {unlisted}")
    on_disk = _files_on_disk(root)
    extra = sorted(on_disk - listed)
    if extra:
        raise BundleIntegrityError(f"{root}: files not listed in the manifest: {extra}")
    for name in sorted(listed):
        path = root / name
        if name not in on_disk:
            raise BundleIntegrityError(f"{root}: file {name} listed in the manifest is missing")
        if sha256(path) != manifest.files[name]:
            raise BundleIntegrityError(f"{root}: file {name} was changed after training (checksum mismatch)")


def _load_features(root: Path, manifest: Manifest) -> Any:
    params = manifest.params
    union = build_features(params.feature_set, encoder_dir=root / "encoder", embedding_weight=params.embedding_weight)
    units = []
    for name, unit in union.transformer_list:
        if name == "embedding":
            encoder = OnnxEncoder(root / "encoder")
            unit.n_features_out_, unit.encoder_key_ = encoder.dim, encoder.key
            unit._encoder = encoder
        else:
            unit = persist.load_vectorizer(root / "features" / f"{name}.skops")
        units.append((name, unit))
    union.transformer_list = units
    return union


def load_bundle(bundle_dir: str | Path, *, trusted_keys: Mapping[str, Ed25519PublicKey] | None = None) -> Bundle:
    """Verify (:func:`verify_bundle`) and load a bundle. Raises :class:`BundleError` (and subclasses) with
    the reason; the files it reads are skops, LightGBM text, ``.npz`` without pickle, ONNX and JSON."""
    root = Path(bundle_dir)
    manifest = verify_bundle(root, trusted_keys=trusted_keys)
    model = TriageModel(**manifest.params.model_dump())
    try:
        model.features_ = _load_features(root, manifest)
        model.heads_ = {
            head: persist.load_head(root / "heads", head, info.params, info.n_trees)
            for head, info in manifest.heads.items()
        }
        novelty = manifest.novelty
        model.novelty_ = (
            persist.load_novelty(root, novelty.params, novelty.sparse_reference) if novelty is not None else None
        )
        model.novelty_head_ = novelty.confidence_head if novelty is not None else None
    except BundleError:
        raise
    except Exception as exc:  # a file that parses but does not fit the manifest (shapes, encoder)
        raise BundleError(f"{root}: cannot load the fitted objects ({type(exc).__name__}: {exc})") from exc
    model.skipped_heads_ = dict(manifest.skipped_heads)
    model.excluded_classes_ = {h: i.excluded_classes for h, i in manifest.heads.items()}
    if model.uses_embeddings:
        model.encoder_dir = root / "encoder"
    return Bundle(root, model, manifest)
