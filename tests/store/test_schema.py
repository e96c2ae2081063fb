"""Migrations: from empty to head on both databases, the same schema as the models, and a service that
refuses a database not at head."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, text, update
from sqlalchemy.exc import DBAPIError

from triage.errors import ConfigError
from triage.store import SchemaNotReady, Store, StoreUnavailable, check_schema, schema, upgrade
from triage.store.engine import make_engine
from triage.store.models import Base, audit_log
from triage.store.schema import downgrade, head_revision
from triage.store.types import utcnow

TRIAGE = Path(sys.executable).parent / "triage"
TABLES = {"tickets", "decisions", "decision_reasons", "reviews", "agents", "audit_log", "outbox", "alembic_version"}


def test_upgrade_from_empty_creates_the_models_schema(empty_engine: Engine) -> None:
    with pytest.raises(SchemaNotReady, match="no triage schema: run `triage db upgrade`"):
        check_schema(empty_engine)
    upgrade(empty_engine)
    assert check_schema(empty_engine) == head_revision()
    assert set(inspect(empty_engine).get_table_names()) >= TABLES
    with empty_engine.connect() as conn:  # the migrations create exactly what the models declare
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []
    upgrade(empty_engine)  # a second upgrade is a no-op
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    with pytest.raises(SchemaNotReady):
        check_schema(empty_engine)


def test_check_schema_refuses_an_unknown_revision(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    with pytest.raises(SchemaNotReady, match="revision ffff9999, unknown to this triage"):
        check_schema(empty_engine)


def test_schema_error_is_a_config_error_that_hides_the_password() -> None:
    engine = make_engine("postgresql://triage:s3cret@127.0.0.1:1/nowhere", connect_timeout=1)
    with pytest.raises(StoreUnavailable) as caught:
        check_schema(engine)
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)
    assert issubclass(SchemaNotReady, ConfigError)


def test_a_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not supported"):
        make_engine("mysql://localhost/x")
    with pytest.raises(ConfigError, match="not a database URL"):
        make_engine("::nonsense")


def test_audit_log_is_append_only(store: Store) -> None:
    with store.write() as conn:
        conn.execute(insert(audit_log), {"at": utcnow(), "actor": "a", "action": "x", "detail": {}})
    for statement in (update(audit_log).values(actor="b"), audit_log.delete()):
        with pytest.raises(DBAPIError, match="append-only"), store.write() as conn:
            conn.execute(statement)
    with store.read() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["a"]


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_checking_an_absent_sqlite_file_does_not_create_it(tmp_path: Path) -> None:
    path = tmp_path / "triage.db"
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(SchemaNotReady, match="no triage schema"):
        check_schema(engine)
    assert not path.exists()


def test_upgrades_at_once_take_turns(empty_engine: Engine) -> None:
    """Replicas starting with `triage db upgrade` at the same moment: one migrates, the others find it done
    (separate processes, as in production; without the lock they collide on the first CREATE TABLE)."""
    url = empty_engine.url.render_as_string(hide_password=False)
    command = [str(TRIAGE), "db", "upgrade", "--url", url]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert sum("migrated from empty" in out for out, _ in outputs) == 1
    assert check_schema(empty_engine) == head_revision()


def test_the_check_reads_the_migrations_as_alembic_does_without_importing_it() -> None:
    """check_schema reads the head and the known revisions from the migration files (Alembic costs the
    service's start): they must be Alembic's, and a fresh interpreter checking a schema imports no Alembic."""
    scripts = schema._scripts()
    assert schema.head_revision() == scripts.get_current_head()
    assert schema._revisions() == {s.revision: s.down_revision for s in scripts.walk_revisions()}
    code = (
        "import sys; from triage.store import check_schema, make_engine, SchemaNotReady\n"
        "try: check_schema(make_engine('sqlite://'))\n"
        "except SchemaNotReady: pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
