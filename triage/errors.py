"""Domain errors of triage.

The library raises these; the CLI and the API map them to exit codes and HTTP responses in one place each.
Messages name the file, field, row or value at fault and never include ticket text.
"""

from __future__ import annotations


class TriageError(Exception):
    """Base class of every error triage raises on purpose."""


class ConfigError(TriageError, ValueError):
    """A setting, mapping file or command-line option is invalid."""


class DataError(TriageError, ValueError):
    """Input data cannot be used (not a ticket export, no usable rows, unknown columns)."""


class NotATicketExport(DataError):
    """The file is readable but does not look like a ticket export at all."""


class BundleError(TriageError):
    """A model bundle is missing, incomplete, tampered with or of an incompatible format."""


class BundleIntegrityError(BundleError):
    """A file of the bundle does not match the checksum in its manifest."""


class BundleSignatureError(BundleError):
    """A bundle is unsigned, signed by a key the service does not trust, or changed after signing."""


class BundleVersionError(BundleError):
    """The bundle was written by an incompatible format version."""


class ModelNotReady(TriageError):
    """No model is loaded (the service is starting or the last load failed)."""


class RegistryError(BundleError):
    """A registered model cannot be resolved, downloaded, registered or promoted in the MLflow registry."""
