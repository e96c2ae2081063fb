"""A serving-only install has no MLflow: a models:/ URI is a clear error naming the extra, not a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from triage.errors import RegistryError
from triage.registry import fetch_bundle


@pytest.mark.parametrize("uri", ["models:/triage@champion", "models:/triage/3"])
def test_a_registry_uri_without_mlflow_names_the_extra(
    uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in [name for name in sys.modules if name == "mlflow" or name.startswith("mlflow.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ModuleNotFoundError
    with pytest.raises(RegistryError, match=r"pip install 'triage\[registry\]'"):
        fetch_bundle(uri, tmp_path)
