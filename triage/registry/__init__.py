"""The MLflow Model Registry for triage bundles: register a signed bundle as a model version with a pyfunc
flavour, promote a version to ``champion`` through the comparison gate, serve ``models:/NAME@champion``.

Nothing here imports MLflow until it is used.
"""

from triage.registry.source import fetch_bundle, is_registry_uri, parse_uri
from triage.registry.versions import CHAMPION, get_alias, get_version, register_bundle, set_champion

__all__ = [
    "CHAMPION",
    "fetch_bundle",
    "get_alias",
    "get_version",
    "is_registry_uri",
    "parse_uri",
    "register_bundle",
    "set_champion",
]
