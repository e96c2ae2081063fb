"""Alembic environment of the store: runs on the connection the caller passes (``triage db upgrade``, the
tests), else on an engine made from ``TRIAGE_DATABASE_URL``."""

from __future__ import annotations

from alembic import context

from triage.store.models import Base

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from triage.settings import get_settings
    from triage.store.engine import make_engine

    engine = make_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("triage migrations run online only: triage db upgrade")
run_migrations_online()
