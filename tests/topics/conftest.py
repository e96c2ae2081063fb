"""The store fixtures of tests/store (each store test runs on SQLite and on PostgreSQL), and a seeded SQLite
store for the command and the desk."""

import shutil
from pathlib import Path

import pytest

from tests.store.conftest import backend, pg_migrated, pg_schema_factory, sqlite_template, store  # noqa: F401
from tests.topics.planted import seed
from triage.store import Store


@pytest.fixture
def store_url(sqlite_template: Path, tmp_path: Path) -> str:  # noqa: F811  (the imported fixture)
    """A SQLite store holding the planted tickets (:func:`seed`)."""
    path = tmp_path / "desk.db"
    shutil.copy(sqlite_template, path)
    seeded = Store.from_url(f"sqlite:///{path}")
    seed(seeded)
    seeded.dispose()
    return f"sqlite:///{path}"
