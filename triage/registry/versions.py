"""Registered model versions in the MLflow Model Registry: register a signed bundle, find versions, and
move the ``champion`` alias, leaving on each version who promoted it, when and how.

With ``MLFLOW_TRACKING_URI`` unset the registry is MLflow's local default (SQLite ``./mlflow.db``); the
registry URI follows the tracking URI unless ``MLFLOW_REGISTRY_URI`` says otherwise.

>>> version = register_bundle("models/default", "triage")  # doctest: +SKIP
>>> set_champion("triage", version, how="first champion")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.errors import RegistryError

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

logger = logging.getLogger(__name__)

CHAMPION = "champion"
BUNDLE_ARTIFACT = "bundle"  # the bundle's folder inside the logged model: artifacts/bundle
TAG = "triage."  # prefix of the tags triage sets on a version


@contextlib.contextmanager
def registry_errors(action: str) -> Iterator[None]:
    """MLflow's exceptions (and an unreachable tracking server) as :class:`RegistryError` naming ``action``;
    a serving-only install without MLflow is told which extra brings it."""
    try:
        from mlflow.exceptions import MlflowException
    except ModuleNotFoundError as exc:
        raise RegistryError(f"{action}: MLflow is not installed; pip install 'triage[registry]'") from exc

    try:
        yield
    except MlflowException as exc:
        raise RegistryError(f"{action}: {exc.message}") from exc
    except OSError as exc:
        raise RegistryError(f"{action}: {type(exc).__name__}: {exc}") from exc


def client() -> Any:
    """An MLflow client of the configured tracking and registry URIs (no progress bars, no telemetry)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from mlflow import MlflowClient

    return MlflowClient()


def register_bundle(bundle_dir: str | Path, name: str, *, run_id: str | None = None) -> ModelVersion:
    """Log a verified bundle as a new version of registered model ``name`` (pyfunc flavour, the bundle as its
    artifact), in the MLflow run ``run_id`` (the training's) or a new one; returns the model version."""
    import mlflow

    from triage import __version__
    from triage.models import signing, verify_bundle
    from triage.registry import pyfunc_code
    from triage.tracking import mlflow_run

    manifest = verify_bundle(bundle_dir)  # a bundle that the service would refuse is not registered either
    signer = str(signing.read_signature(Path(bundle_dir)).get("key_id", ""))
    with tempfile.TemporaryDirectory(prefix="triage-register-") as tmp:
        staged = Path(shutil.copytree(bundle_dir, Path(tmp) / BUNDLE_ARTIFACT))  # the artifact's folder name
        with registry_errors(f"registering {bundle_dir} as {name!r}"):
            client()
            with mlflow_run(f"register {name} {manifest.model_version}", run_id=run_id), warnings.catch_warnings():
                # the signature is given; an example would make MLflow load and run the model while logging it
                warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=pyfunc_code.__file__,
                    artifacts={BUNDLE_ARTIFACT: str(staged)},
                    registered_model_name=name,
                    pip_requirements=[f"triage=={__version__}"],
                    signature=_signature(),
                    metadata={"triage_model_version": manifest.model_version},
                )
    version = str(info.registered_model_version)
    tags = {
        "model_version": manifest.model_version,
        "data_fingerprint": str(manifest.data.get("fingerprint", "")),
        "signed_by": signer,
        "heads": ",".join(manifest.heads),
    }
    with registry_errors(f"tagging version {version} of {name!r}"):
        mlflow_client = client()
        for key, value in tags.items():
            mlflow_client.set_model_version_tag(name, version, TAG + key, value)
        registered = mlflow_client.get_model_version(name, version)
    logger.info("registered bundle %s as version %s of model %r", manifest.model_version, version, name)
    return registered


def _signature() -> Any:
    """The pyfunc's input: the API's ticket fields (text, all optional; ``id`` is echoed first)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    fields = ("id", "subject", "body")
    return ModelSignature(inputs=Schema([ColSpec("string", name, required=False) for name in fields]))


def get_version(name: str, version: str | None = None) -> ModelVersion:
    """Version ``version`` of registered model ``name``, or its latest version."""
    with registry_errors(f"registered model {name!r}"):
        mlflow_client = client()
        if version is not None:
            return mlflow_client.get_model_version(name, str(version))
        versions = mlflow_client.search_model_versions(f"name = '{_quoted(name)}'")
    if not versions:
        raise RegistryError(f"registered model {name!r} has no versions; register one with `triage train --register`")
    return max(versions, key=lambda v: int(v.version))


def get_alias(name: str, alias: str = CHAMPION) -> ModelVersion | None:
    """The version ``alias`` points to, ``None`` when the alias (or the model) does not exist yet."""
    with registry_errors(f"alias {alias!r} of registered model {name!r}"):
        from mlflow.exceptions import MlflowException
    try:
        return client().get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
            return None
        raise RegistryError(f"alias {alias!r} of registered model {name!r}: {exc.message}") from exc


def set_champion(name: str, version: ModelVersion, *, how: str, against: str | None = None) -> None:
    """Point ``champion`` at ``version``, tagging it with who promoted it, when, and ``how`` (``gate passed``,
    ``forced``, ``first champion``) and the version it replaced."""
    tags = {
        "promoted_by": _user(),
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "promotion": how,
        "forced": str(how == "forced").lower(),
        "replaced": against or "",
    }
    with registry_errors(f"promoting version {version.version} of {name!r}"):
        mlflow_client = client()
        for key, value in tags.items():
            mlflow_client.set_model_version_tag(name, str(version.version), TAG + key, value)
        mlflow_client.set_registered_model_alias(name, CHAMPION, str(version.version))


def tag_version(name: str, version: ModelVersion, tags: dict[str, str]) -> None:
    """Set ``triage.*`` tags on a version (the gate's outcome, say)."""
    with registry_errors(f"tagging version {version.version} of {name!r}"):
        mlflow_client = client()
        for key, value in tags.items():
            mlflow_client.set_model_version_tag(name, str(version.version), TAG + key, value)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid {os.getuid()}"


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")
