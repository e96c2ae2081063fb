"""The manifest of a bundle: plain JSON that says what the bundle holds, validated strictly.

Every name in it is data, never a path: heads are among :data:`~triage.data.mapping.HEADS`, feature units
among the known ones, and the files a bundle may hold follow from these (:func:`expected_files`).
Parameters are validated against the classes they rebuild, so an unknown key is a clear refusal, not a
crash at load.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from triage.data.mapping import HEADS
from triage.features import FEATURE_SETS
from triage.features.encoder import ENCODER_FILES
from triage.models.head import ClassThreshold

FORMAT_VERSION = 4  # 2: per-class thresholds; 3: boosted trees; 4: no pickle (skops, npz, text), signed
MANIFEST = "manifest.json"
MAX_TREES = 16


class ModelParams(BaseModel):
    """The :class:`~triage.models.TriageModel` parameters a bundle was trained with."""

    model_config = ConfigDict(extra="forbid")

    feature_set: Literal["tfidf", "tfidf+embedding", "embedding"]
    embedding_weight: float = Field(gt=0)
    C: float = Field(gt=0)
    loss: Literal["svm", "logistic"]
    class_weight: Literal["balanced"] | None
    calibration_folds: int = Field(ge=2, le=MAX_TREES)
    min_class_count: int = Field(ge=1)
    novelty_false_alarm_rate: float | None = Field(gt=0, lt=1)
    novelty_target: float | None = Field(None, gt=0, lt=1, description="absent before bundles chose their rate")
    novelty_seconds: float = Field(30.0, gt=0)
    precision_target: float | None = Field(0.95, gt=0, lt=1, description="of the novelty head, for the simulation")
    trees: bool
    progress: bool = False


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
    params: dict[str, Any] = Field(default_factory=dict, description="the head classifier's parameters")
    n_trees: int = Field(0, ge=0, le=MAX_TREES, description="tree models fused with the linear scores")


class NoveltyInfo(BaseModel):
    """The novelty check: how it was calibrated, and its detector's parameters."""

    model_config = ConfigDict(extra="forbid")

    representation: Literal["embedding", "word tf-idf"]
    false_alarm_rate: float
    threshold: float
    confidence_head: str | None
    reference_tickets: int
    params: dict[str, Any]
    sparse_reference: bool


class Manifest(BaseModel):
    """The bundle's plain-JSON description; ``files`` maps every other file (but the signature) to its SHA-256."""

    format_version: int
    model_version: str
    created_at: datetime
    heads: dict[str, HeadInfo]
    skipped_heads: dict[str, str] = Field(default_factory=dict)
    model_params: dict[str, Any]
    encoder: dict[str, Any] | None = None
    novelty: NoveltyInfo | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    library_versions: dict[str, str] = Field(default_factory=dict)
    mapping: dict[str, Any] | None = Field(
        None, description="the column mapping of the training export, used by evaluate and predict by default"
    )
    files: dict[str, str]

    @field_validator("heads")
    @classmethod
    def _known_heads(cls, heads: dict[str, HeadInfo]) -> dict[str, HeadInfo]:
        unknown = sorted(set(heads) - set(HEADS))
        if unknown:
            raise ValueError(f"unknown heads {unknown}; a bundle has only {', '.join(HEADS)}")
        return heads

    @field_validator("model_params")
    @classmethod
    def _known_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        return ModelParams.model_validate(params).model_dump()

    @model_validator(mode="after")
    def _novelty_head_is_a_head(self) -> Manifest:
        head = self.novelty.confidence_head if self.novelty else None
        if head is not None and head not in self.heads:
            raise ValueError(f"the novelty check reads head {head!r}, which the bundle does not have")
        return self

    @property
    def params(self) -> ModelParams:
        return ModelParams.model_validate(self.model_params)


def expected_files(manifest: Manifest) -> set[str]:
    """Every file a bundle with this manifest holds, by the format's own names (``manifest.json`` and
    ``signature.json`` aside)."""
    units = FEATURE_SETS[manifest.params.feature_set]
    files = {"README.md", "data_quality.json"}
    for unit in units:
        if unit != "embedding":
            files |= {f"features/{unit}.skops", f"features/{unit}.vocabulary.json"}
    if "embedding" in units:
        files |= {f"encoder/{name}" for name in ENCODER_FILES}
    for head, info in manifest.heads.items():
        files |= {f"heads/{head}.skops", f"heads/{head}.npz"}
        files |= {f"heads/{head}.trees-{k}.txt" for k in range(info.n_trees)}
    if manifest.novelty is not None:
        files.add("novelty.npz")
        if manifest.novelty.sparse_reference:
            files.add("novelty-reference.npz")
    return files


OPTIONAL_FILES = {"data_quality.json"}


def model_card(manifest: Manifest) -> str:
    """The bundle's README.md: what a person wants to know before serving it."""
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
        lines += ["", f"Novelty check: false-alarm rate {manifest.novelty.false_alarm_rate} on ordinary tickets."]
    if manifest.metrics:
        lines += ["", "Hold-out metrics:", "", "```json", json.dumps(manifest.metrics, indent=2)[:4000], "```"]
    lines += [
        "",
        "Library versions: " + ", ".join(f"{k} {v}" for k, v in manifest.library_versions.items()),
        "",
        "Files: fitted objects in skops, LightGBM text and `.npz` formats (no pickle); `manifest.json` lists the "
        "SHA-256 of each, and `signature.json` holds its Ed25519 signature.",
    ]
    return "\n".join(lines) + "\n"
