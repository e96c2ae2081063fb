"""Fixtures of the registry tests: one MLflow tracking store (SQLite) for the session, a model name per
test, and a second bundle, weaker than `trained_bundle` (far fewer tickets), for gates that fail."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import PRECISION_TARGETS
from triage.settings import get_settings


@pytest.fixture(scope="session")
def _mlflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def registry(
    _mlflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    """A registered-model name of this test's own, in a tracking store (SQLite, artifacts beside it) shared by
    the session (creating MLflow's schema takes seconds); the models root is the test's ``models`` folder."""
    monkeypatch.chdir(_mlflow_home)  # MLflow's default artifact root, ./mlruns, is made here
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{_mlflow_home / 'mlflow.db'}")
    monkeypatch.setenv("TRIAGE_MODELS_ROOT", str(tmp_path / "models"))
    get_settings.cache_clear()
    return "t-" + re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:60]


@pytest.fixture(scope="session")
def weak_bundle(training_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TF-IDF bundle trained on 300 of the training tickets: worse than `trained_bundle` on most classes."""
    from training import TrainConfig, train

    folder = tmp_path_factory.mktemp("weak")
    rows = pd.read_csv(training_export).sample(n=300, random_state=1).sort_values("created_at")
    rows.to_csv(folder / "few.csv", index=False)
    config = TrainConfig(
        feature_set="tfidf",
        trees="off",
        precision_targets=dict(PRECISION_TARGETS),
        novelty_false_alarm_rate=0.2,
        mlflow=False,
        cache_dir=tmp_path_factory.mktemp("cache"),
    )
    train([folder / "few.csv"], folder / "model", config=config)
    return folder / "model"


@pytest.fixture(scope="session")
def retrain_export(training_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,200 of the training tickets in time order: `triage retrain` holds out the 240 most recent."""
    rows = pd.read_csv(training_export).sample(n=1200, random_state=2).sort_values("created_at")
    path = tmp_path_factory.mktemp("retrain") / "export.csv"
    rows.to_csv(path, index=False)
    return path
