"""Workers share out the cores: each worker's sentence encoder runs ONNX Runtime on its share, unless the
operator set TRIAGE_ENCODER_THREADS."""

from __future__ import annotations

import os

import pytest

from triage.api.server import shared_folder
from triage.features.encoder import THREADS_ENV, default_threads


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (THREADS_ENV, "TRIAGE_WORKERS_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.setenv(name, "")  # recorded: what shared_folder sets is undone after the test
        monkeypatch.delenv(name)


def test_an_encoder_runs_two_threads_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_threads() == min(2, os.cpu_count() or 1)
    monkeypatch.setenv(THREADS_ENV, "3")
    assert default_threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(THREADS_ENV, bad)
        assert default_threads() == min(2, os.cpu_count() or 1), bad


def test_serve_with_workers_gives_each_encoder_its_share_of_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    with shared_folder(1) as folder:
        assert folder is None and THREADS_ENV not in os.environ  # one process: two threads, as always
    with shared_folder(4) as folder:
        assert folder is not None and os.environ[THREADS_ENV] == "2"
        assert default_threads() == 2
    monkeypatch.setenv(THREADS_ENV, "1")
    with shared_folder(2):
        assert os.environ[THREADS_ENV] == "1"  # the operator's choice is kept
