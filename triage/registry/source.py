"""A model given as a registry URI (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``): resolved to a
version, its bundle downloaded into a cache under the models root and verified before anyone loads it.

The cache holds one folder per version (``<models root>/.registry/<name>/<version>``); a version already
there is verified again and reused, so a reload that finds the same champion downloads nothing.

>>> fetch_bundle("models:/triage@champion", Path("models/.registry"))  # doctest: +SKIP
PosixPath('models/.registry/triage/3')
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from triage.errors import BundleError, ConfigError, RegistryError
from triage.registry.versions import BUNDLE_ARTIFACT, client, get_alias, get_version, registry_errors

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from mlflow.entities.model_registry import ModelVersion

logger = logging.getLogger(__name__)

SCHEME = "models:/"
CACHE = ".registry"
_URI = re.compile(r"^models:/+(?P<name>[^/@]+)(?:@(?P<alias>[A-Za-z0-9_-]+)|/(?P<version>[0-9]+))$")


@dataclass(frozen=True)
class RegistryUri:
    """A parsed ``models:/`` URI: a name and either an alias or a version number."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        return f"{SCHEME}{self.name}@{self.alias}" if self.alias else f"{SCHEME}{self.name}/{self.version}"


def is_registry_uri(source: str | Path) -> bool:
    """Whether a model source names a registered model rather than a bundle folder."""
    return str(source).startswith("models:/")


def parse_uri(source: str | Path) -> RegistryUri:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``; anything else is a :class:`ConfigError`."""
    match = _URI.match(str(source))
    if match is None:
        raise ConfigError(
            f"model {str(source)[:200]!r}: a registered model is written models:/NAME@ALIAS (e.g. "
            "models:/triage@champion) or models:/NAME/VERSION"
        )
    return RegistryUri(match["name"], match["alias"], match["version"])


def resolve(uri: RegistryUri) -> ModelVersion:
    """The model version a URI points to now."""
    if uri.alias is None:
        return get_version(uri.name, uri.version)
    version = get_alias(uri.name, uri.alias)
    if version is None:
        raise RegistryError(f"{uri}: registered model {uri.name!r} has no alias {uri.alias!r} (see `triage promote`)")
    return version


def cache_folder(cache_root: Path, name: str, version: str) -> Path:
    """Where a version's bundle is kept: a folder per model name (made safe for a file name) and version."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "_"
    folder = cache_root / safe / version
    if not folder.resolve().is_relative_to(cache_root.resolve()):
        raise RegistryError(f"registered model {name!r}: no cache folder inside {cache_root} for it")
    return folder


def fetch_bundle(
    source: str | Path, cache_root: Path, *, trusted_keys: Mapping[str, Ed25519PublicKey] | None = None
) -> Path:
    """Resolve a ``models:/`` URI, download its bundle into ``cache_root`` (unless the version is there) and
    verify it (signature by a trusted key, files, checksums; ``None``: the settings' keys); returns the
    bundle folder. A download that fails verification never lands in the cache."""
    from triage.models import verify_bundle

    uri = parse_uri(source)
    version = resolve(uri)
    folder = cache_folder(cache_root, uri.name, str(version.version))
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder.with_name(folder.name + ".lock"))):  # workers of one service take turns
        if folder.exists():
            try:
                verify_bundle(folder, trusted_keys=trusted_keys)
                return folder
            except BundleError as exc:
                logger.warning("cached bundle %r fails verification (%s); downloading it again", str(folder), exc)
                shutil.rmtree(folder)
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            _download(uri.name, str(version.version), partial)
            downloaded = partial / "artifacts" / BUNDLE_ARTIFACT
            verify_bundle(downloaded, trusted_keys=trusted_keys)
            downloaded.rename(folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    logger.info("%s is version %s: bundle downloaded to %r and verified", uri, version.version, str(folder))
    return folder


def _download(name: str, version: str, destination: Path) -> None:
    import mlflow.artifacts

    destination.mkdir(parents=True)
    with registry_errors(f"downloading version {version} of {name!r}"):
        client()  # settles MLflow's environment (no progress bars) before the download
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"{SCHEME}{name}/{version}/artifacts/{BUNDLE_ARTIFACT}", dst_path=str(destination)
        )
    if not (destination / "artifacts" / BUNDLE_ARTIFACT).is_dir():
        raise RegistryError(f"version {version} of {name!r} holds no triage bundle (artifacts/{BUNDLE_ARTIFACT})")
