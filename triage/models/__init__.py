"""The triage model, its heads and the bundle format."""

from triage.models.bundle import Bundle, Manifest, load_bundle, read_manifest, save_bundle, verify_bundle
from triage.models.head import CalibratedLinearHead
from triage.models.triage_model import TriageModel

__all__ = [
    "Bundle",
    "CalibratedLinearHead",
    "Manifest",
    "TriageModel",
    "load_bundle",
    "read_manifest",
    "save_bundle",
    "verify_bundle",
]
