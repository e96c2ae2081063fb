"""Fixtures of the store tests: every test runs on SQLite and on PostgreSQL.

PostgreSQL: ``TRIAGE_TEST_POSTGRES_URL`` (default the local server, database ``test``). Each test session
migrates a schema of its own (a unique name, dropped at the end), so parallel runs never meet; each test
starts from empty tables. Locally, an unreachable server skips the PostgreSQL tests; with ``CI=true`` it
fails them: CI never skips them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text

from triage.decision import Alternative, Decision, HeadSuggestion, Outcome, Reason
from triage.store import Store, upgrade
from triage.store.engine import make_engine
from triage.store.models import Base

PG_URL = os.environ.get("TRIAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
BACKENDS = ("sqlite", "postgresql")


def pg_url(schema: str) -> str:
    """The test server's URL with connections working in ``schema`` (unqualified names resolve there)."""
    return f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"


def pg_engine(schema: str, **kwargs: object) -> Engine:
    return make_engine(pg_url(schema), **kwargs)  # type: ignore[arg-type]


def _pg_reachable() -> str | None:
    engine = make_engine(PG_URL, connect_timeout=2)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_schema_factory() -> Iterator[Callable[[], str]]:
    """Creates uniquely named, empty schemas on the test server; drops them all at the end of the session."""
    problem = _pg_reachable()
    if problem is not None:
        message = f"PostgreSQL at {PG_URL} is unreachable ({problem})"
        if IN_CI:
            pytest.fail(f"{message}; CI=true: the PostgreSQL tests must run")
        pytest.skip(f"{message}; set CI=true to make this a failure")
    admin = make_engine(PG_URL)
    made: list[str] = []

    def create() -> str:
        name = f"triage_test_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        made.append(name)
        return name

    yield create
    with admin.begin() as conn:
        for name in made:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated(pg_schema_factory: Callable[[], str]) -> str:
    """The session's migrated schema."""
    schema = pg_schema_factory()
    engine = pg_engine(schema)
    upgrade(engine)
    engine.dispose()
    return schema


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("store") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _truncate(engine: Engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store on each backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "triage.db"
        shutil.copy(template, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = pg_engine(request.getfixturevalue("pg_migrated"), pool_size=10)
        _truncate(engine)
    yield Store(engine)
    engine.dispose()


@pytest.fixture
def empty_engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables at all."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    else:
        engine = pg_engine(request.getfixturevalue("pg_schema_factory")())
    yield engine
    engine.dispose()


def head(label: str, confidence: float, *, threshold: float = 0.5, others: tuple[str, ...] = ()) -> HeadSuggestion:
    return HeadSuggestion(
        label=label,
        confidence=confidence,
        threshold=threshold,
        confident=confidence >= threshold,
        alternatives=[Alternative(label=o, confidence=round((1 - confidence) / len(others), 4)) for o in others],
        prediction_set=[label] if confidence >= threshold else [label, *others],
    )


def make_decision(
    category: str = "vpn",
    priority: str = "P3",
    tier: str = "L1",
    *,
    reasons: tuple[tuple[str, str | None], ...] = (),
    version: str = "test-model",
) -> Decision:
    """A decision as the triager makes it: deferred when it has reasons, auto-routed otherwise."""
    unsure = {h for code, h in reasons if code == "low_confidence"}
    heads = {
        name: head(label, 0.4 if name in unsure else 0.9, others=("x", "y"))
        for name, label in (("category", category), ("priority", priority), ("tier", tier))
    }
    return Decision(
        outcome=Outcome.NEEDS_REVIEW if reasons else Outcome.AUTO_ROUTE,
        reasons=[Reason(code=c, head=h, message=f"{c} {h or ''}".strip()) for c, h in reasons],
        heads=heads,
        model_version=version,
    )
