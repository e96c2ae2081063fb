"""The model bundle: a directory of fitted objects (joblib) and a JSON manifest readable without unpickling.

Layout::

    manifest.json        format version, heads and labels, features, encoder, data fingerprint, metrics,
                         library versions, and the SHA-256 of every other file
    features.joblib      the fitted feature union (TF-IDF vocabularies, embedding unit)
    heads/<head>.joblib  one calibrated classifier per head
    novelty.joblib       the novelty detector behind the "unfamiliar" deferral (when trained with one)
    encoder/             the ONNX sentence encoder (when the feature set uses embeddings)
    data_quality.json    the data-quality summary of the training export
    README.md            a model card for people

:func:`load_bundle` checks the format version and every checksum *before* unpickling anything.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
from pydantic import BaseModel, Field, ValidationError

from triage.errors import BundleError, BundleIntegrityError, BundleVersionError
from triage.models.head import ClassThreshold
from triage.models.triage_model import TriageModel

FORMAT_VERSION = 3  # 2: per-class thresholds, novelty combined with classifier confidence; 3: boosted trees
MANIFEST = "manifest.json"
_LIBRARIES = ("triage", "scikit-learn", "lightgbm", "numpy", "scipy", "onnxruntime", "tokenizers", "joblib", "pandas")


class HeadInfo(BaseModel):
    """What the manifest says of one head."""

    labels: list[str]
    n_train: int
    excluded_classes: dict[str, int] = Field(default_factory=dict)
    threshold: float | None = Field(None, description="the head's pooled threshold")
    precision_target: float | None = Field(
        None, description="set: thresholds were chosen for this precision; a null threshold means never auto-route"
    )
    class_thresholds: dict[str, ClassThreshold] = Field(
        default_factory=dict, description="per predicted label; empty: the head threshold applies to every label"
    )
    metrics: dict[str, Any] = Field(default_factory=dict)


class Manifest(BaseModel):
    """The bundle's plain-JSON description; ``files`` maps every other file to its SHA-256."""

    format_version: int
    model_version: str
    created_at: datetime
    heads: dict[str, HeadInfo]
    skipped_heads: dict[str, str] = Field(default_factory=dict)
    model_params: dict[str, Any]
    encoder: dict[str, Any] | None = None
    novelty: dict[str, Any] | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    library_versions: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str]


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


def _model_card(manifest: Manifest) -> str:
    lines = [
        f"# triage model {manifest.model_version}",
        "",
        f"Created {manifest.created_at:%Y-%m-%d %H:%M} UTC with features `{manifest.model_params.get('feature_set')}`"
        + (" and boosted trees on the words." if manifest.model_params.get("trees") else "."),
        "",
        "| head | classes | trained on |",
        "|---|---|---|",
    ]
    lines += [f"| {h} | {len(i.labels)} | {i.n_train} tickets |" for h, i in manifest.heads.items()]
    for head, info in manifest.heads.items():
        if info.precision_target is None:
            continue
        never = [label for label, c in info.class_thresholds.items() if c.threshold is None]
        threshold = "never auto-routed" if info.threshold is None else f"threshold {info.threshold:.2f}"
        lines += [
            "",
            f"**{head}**: precision target {info.precision_target:.2f}, head {threshold}"
            + (f"; never auto-routed: {', '.join(never)}" if never else "; every class can be auto-routed")
            + ".",
        ]
    if manifest.novelty:
        lines += ["", f"Novelty check: false-alarm rate {manifest.novelty['false_alarm_rate']} on ordinary tickets."]
    if manifest.metrics:
        lines += [
            "",
            "Hold-out metrics:",
            "",
            "```json",
            json.dumps(manifest.metrics, indent=2)[:4000],
            "```",
        ]
    lines += ["", "Library versions: " + ", ".join(f"{k} {v}" for k, v in manifest.library_versions.items())]
    return "\n".join(lines) + "\n"


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
) -> Bundle:
    """Write ``model`` as a bundle directory (replacing one that is there) and return it loaded."""
    out = Path(out_dir)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "heads").mkdir(parents=True)
    joblib.dump(model.features_, tmp / "features.joblib")
    for head, clf in model.heads_.items():
        joblib.dump(clf, tmp / "heads" / f"{head}.joblib")
    novelty = None
    if model.novelty_ is not None:
        joblib.dump(model.novelty_, tmp / "novelty.joblib")
        novelty = {
            "representation": "embedding" if model.uses_embeddings else "word tf-idf",
            "false_alarm_rate": model.novelty_.false_alarm_rate,
            "threshold": model.novelty_.threshold_,
            "confidence_head": model.novelty_head_ if model.novelty_.uses_confidence_ else None,
            "reference_tickets": int(model.novelty_.reference_.shape[0]),
        }
    encoder = None
    if model.uses_embeddings:
        shutil.copytree(Path(str(model.encoder_dir)), tmp / "encoder")
        encoder = json.loads((tmp / "encoder" / "encoder.json").read_text())
    if quality is not None:
        (tmp / "data_quality.json").write_text(json.dumps(quality, indent=2, default=str))
    created = datetime.now(UTC)
    fingerprint = (data or {}).get("fingerprint", "")
    params = {k: v for k, v in vars(model).items() if not k.endswith("_") and k not in ("encoder_dir", "cache_path")}
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
        files={},
    )
    (tmp / "README.md").write_text(_model_card(manifest))
    manifest.files = {p.relative_to(tmp).as_posix(): sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    (tmp / MANIFEST).write_text(manifest.model_dump_json(indent=2))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return load_bundle(out)


def read_manifest(bundle_dir: str | Path) -> Manifest:
    """The manifest of a bundle, validated, without loading anything else."""
    path = Path(bundle_dir) / MANIFEST
    if not path.is_file():
        raise BundleError(f"{bundle_dir}: not a model bundle (no {MANIFEST}); train one with `triage train`")
    try:
        raw = json.loads(path.read_text())
    except ValueError as exc:
        raise BundleError(f"{path}: not valid JSON ({exc})") from exc
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if version != FORMAT_VERSION:
        raise BundleVersionError(
            f"{bundle_dir}: bundle format version {version!r}, this triage reads version {FORMAT_VERSION}; "
            "retrain the model with this version of triage"
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise BundleError(f"{path}: invalid manifest ({exc.error_count()} problems: {exc.errors()[0]['msg']})") from exc


def verify_bundle(bundle_dir: str | Path) -> Manifest:
    """Check every file against the manifest's SHA-256; refuse changed, missing or unlisted files."""
    root = Path(bundle_dir)
    manifest = read_manifest(root)
    for name, expected in manifest.files.items():
        path = root / name
        if not path.resolve().is_relative_to(root.resolve()):
            raise BundleIntegrityError(f"{root}: manifest lists a file outside the bundle: {name}")
        if not path.is_file():
            raise BundleIntegrityError(f"{root}: file {name} listed in the manifest is missing")
        if sha256(path) != expected:
            raise BundleIntegrityError(f"{root}: file {name} was changed after training (checksum mismatch)")
    unlisted = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST and p.relative_to(root).as_posix() not in manifest.files
    ]
    if any(name.endswith((".joblib", ".pkl", ".onnx")) for name in unlisted):
        raise BundleIntegrityError(f"{root}: files not listed in the manifest: {sorted(unlisted)}")
    return manifest


def load_bundle(bundle_dir: str | Path) -> Bundle:
    """Verify and load a bundle. Raises :class:`BundleError` (and subclasses) with the reason."""
    root = Path(bundle_dir)
    manifest = verify_bundle(root)
    model = TriageModel(**manifest.model_params)
    try:
        model.features_ = joblib.load(root / "features.joblib")
        model.heads_ = {head: joblib.load(root / "heads" / f"{head}.joblib") for head in manifest.heads}
        model.novelty_ = joblib.load(root / "novelty.joblib") if manifest.novelty else None
        model.novelty_head_ = (manifest.novelty or {}).get("confidence_head")
    except Exception as exc:  # unpickling can fail in many ways with incompatible libraries
        raise BundleError(f"{root}: cannot load fitted objects ({type(exc).__name__}: {exc})") from exc
    model.skipped_heads_ = dict(manifest.skipped_heads)
    model.excluded_classes_ = {h: i.excluded_classes for h, i in manifest.heads.items()}
    if model.uses_embeddings:
        model.encoder_dir = root / "encoder"
        for _, unit in model.features_.transformer_list:
            if hasattr(unit, "encoder_dir"):
                unit.set_params(encoder_dir=root / "encoder", cache_path=None, progress=False)
    return Bundle(root, model, manifest)
