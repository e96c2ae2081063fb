"""Migrations and the schema check: ``triage db upgrade`` applies the Alembic migrations shipped in
``triage/store/migrations``; :func:`check_schema` refuses a database that is not at their head, so a service
never runs on an unmigrated schema.

>>> check_schema(make_engine("sqlite:///triage.db"))  # doctest: +SKIP
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from triage.store.engine import UNREACHABLE
from triage.store.errors import SchemaNotReady, StoreUnavailable

if TYPE_CHECKING:  # Alembic is imported to migrate, not to check (it delayed the service's start)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

FIX = "run `triage db upgrade` (with the same TRIAGE_DATABASE_URL)"
MIGRATION_LOCK = 0x7472696167  # "triag": the advisory lock migrations take on PostgreSQL
VERSIONS = Path(__file__).parent / "migrations" / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "triage.store:migrations")
    config.set_main_option("path_separator", "os")
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


@lru_cache(maxsize=1)
def _revisions() -> dict[str, str | None]:
    """Each migration's revision and the one it revises, read from the ``revision = "..."`` and
    ``down_revision = ...`` lines of the files in ``migrations/versions`` (parsed, not run), as Alembic reads
    them; falls back to Alembic itself for a file written otherwise."""
    revisions: dict[str, str | None] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        found: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    found[target.id] = value  # not a literal: Alembic decides
        if "revision" not in found and path.name == "__init__.py":
            continue
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            return {s.revision: s.down_revision for s in _scripts().walk_revisions()}  # type: ignore[misc]
        revisions[revision] = down
    return revisions


def head_revision() -> str:
    """The revision this code needs: the one no other migration revises."""
    revisions = _revisions()
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:  # branches, or no migration: Alembic's own answer (or its error)
        head = _scripts().get_current_head()
        assert head is not None
        return head
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it has no triage schema (a SQLite file that does not exist
    is not created by asking)."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        return None
    try:
        with engine.connect() as conn:  # Alembic's own query (MigrationContext.get_current_heads), without it
            if not inspect(conn).has_table(VERSION_TABLE):
                return None
            heads = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    except UNREACHABLE as exc:
        cause = type(getattr(exc, "orig", None) or exc).__name__
        raise StoreUnavailable(f"cannot reach the store {_where(engine)}: {cause}") from exc
    return heads[0] if heads else None


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the migrations up to ``revision`` (all by default), in one transaction; returns the revision the
    database was at (None: empty). Two upgrades at once (two replicas starting) take turns: PostgreSQL through
    an advisory lock, SQLite through its write lock."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

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
    from alembic import command

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
    if current not in _revisions():
        raise SchemaNotReady(
            f"the store {_where(engine)} is at revision {current}, unknown to this triage (written by a newer "
            "version?): upgrade triage, or point TRIAGE_DATABASE_URL at another database"
        )
    raise SchemaNotReady(f"the store {_where(engine)} is at revision {current}, this triage needs {head}: {FIX}")


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
