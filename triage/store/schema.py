"""Migrations and the schema check: ``triage db upgrade`` applies the Alembic migrations shipped in
``triage/store/migrations``; :func:`check_schema` refuses a database that is not at their head, so a service
never runs on an unmigrated schema.

>>> check_schema(make_engine("sqlite:///triage.db"))  # doctest: +SKIP
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from triage.store.engine import UNREACHABLE
from triage.store.errors import SchemaNotReady, StoreUnavailable

FIX = "run `triage db upgrade` (with the same TRIAGE_DATABASE_URL)"
MIGRATION_LOCK = 0x7472696167  # "triag": the advisory lock migrations take on PostgreSQL


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "triage.store:migrations")
    config.set_main_option("path_separator", "os")
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The revision this code needs."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it has no triage schema (a SQLite file that does not exist
    is not created by asking)."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        return None
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    except UNREACHABLE as exc:
        cause = type(getattr(exc, "orig", None) or exc).__name__
        raise StoreUnavailable(f"cannot reach the store {_where(engine)}: {cause}") from exc
    return heads[0] if heads else None


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the migrations up to ``revision`` (all by default), in one transaction; returns the revision the
    database was at (None: empty). Two upgrades at once (two replicas starting) take turns: PostgreSQL through
    an advisory lock, SQLite through its write lock."""
    config = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(triage_immediate=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            heads = MigrationContext.configure(conn).get_current_heads()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    return heads[0] if heads else None


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def check_schema(engine: Engine) -> str:
    """The database's revision when it is the one this code needs; otherwise :class:`SchemaNotReady` naming
    the fix (or :class:`StoreUnavailable` when the database cannot be reached)."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return current
    if current is None:
        raise SchemaNotReady(f"the store {_where(engine)} has no triage schema: {FIX}")
    known = {s.revision for s in _scripts().walk_revisions()}
    if current not in known:
        raise SchemaNotReady(
            f"the store {_where(engine)} is at revision {current}, unknown to this triage (written by a newer "
            "version?): upgrade triage, or point TRIAGE_DATABASE_URL at another database"
        )
    raise SchemaNotReady(f"the store {_where(engine)} is at revision {current}, this triage needs {head}: {FIX}")


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
