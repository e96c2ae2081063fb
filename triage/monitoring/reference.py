"""What live quality is measured against: each head's precision target and the label counts of the training
data, both read from a model bundle (the manifest and its ``data_quality.json``).

>>> reference = Reference.from_bundle_dir("models/default")  # doctest: +SKIP
>>> reference.targets
{'category': 0.85, 'priority': 0.5, 'tier': 0.85}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.errors import BundleError
from triage.models.manifest import Manifest

if TYPE_CHECKING:
    from triage.models import Bundle

logger = logging.getLogger(__name__)

DATA_QUALITY = "data_quality.json"


@dataclass(frozen=True)
class Reference:
    """Per head: the precision target the thresholds were chosen for (heads without one are absent) and the
    training data's label counts (absent when the bundle has no data-quality summary)."""

    model_version: str | None = None
    targets: dict[str, float] = field(default_factory=dict)
    training_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, manifest: Manifest, bundle_dir: str | Path | None = None) -> Reference:
        """The reference of a bundle already verified (the served one); its ``data_quality.json`` is plain
        JSON, covered by the manifest's checksums."""
        targets = {h: float(i.precision_target) for h, i in manifest.heads.items() if i.precision_target is not None}
        counts = _training_counts(Path(bundle_dir) / DATA_QUALITY) if bundle_dir is not None else {}
        counts = {h: c for h, c in counts.items() if h in manifest.heads}
        return cls(model_version=manifest.model_version, targets=targets, training_counts=counts)

    @classmethod
    def from_bundle_dir(cls, bundle_dir: str | Path) -> Reference:
        """The reference of the bundle in ``bundle_dir``, its signature and checksums verified first."""
        from triage.models import verify_bundle

        return cls.from_manifest(verify_bundle(bundle_dir), bundle_dir)


def _training_counts(path: Path) -> dict[str, dict[str, int]]:
    """``heads.<head>.label_counts`` of a data-quality summary; empty when the file is absent."""
    if not path.is_file():
        return {}
    try:
        quality: Any = json.loads(path.read_text(encoding="utf-8"))
        heads = quality.get("heads") or {}
        return {
            str(head): {str(label): int(n) for label, n in (info.get("label_counts") or {}).items()}
            for head, info in heads.items()
        }
    except (ValueError, AttributeError, TypeError) as exc:
        raise BundleError(f"{path}: not a data-quality summary ({type(exc).__name__}: {exc})") from None


def served_reference(bundle: Callable[[], Bundle | None]) -> Callable[[], Reference]:
    """The reference of whatever bundle ``bundle()`` serves now, read once per model version; a served bundle
    whose data-quality summary cannot be read gives its targets and no training counts (logged once)."""
    cache: dict[tuple[str, str], Reference] = {}

    def source() -> Reference:
        served = bundle()
        if served is None:
            return Reference()
        key = (str(served.path), served.version)
        if key not in cache:
            try:
                reference = Reference.from_manifest(served.manifest, served.path)
            except BundleError as exc:
                logger.warning("label drift is not measured: %s", exc)
                reference = Reference.from_manifest(served.manifest)
            cache.clear()
            cache[key] = reference
        return cache[key]

    return source
