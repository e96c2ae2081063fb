"""``triage db``: migrate, check and purge the store (TRIAGE_DATABASE_URL, SQLite triage.db by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from triage.cli import app, err

if TYPE_CHECKING:
    from triage.store import Store

db_app = typer.Typer(help="The store of triaged tickets, decisions and reviews.", no_args_is_help=True)
app.add_typer(db_app, name="db")

UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Database URL (default: TRIAGE_DATABASE_URL, sqlite:///triage.db).")
]


def open_store(url: str | None, *, checked: bool = True) -> Store:
    """The store at ``url`` (or the configured one); with ``checked``, refused unless fully migrated."""
    from triage.settings import get_settings
    from triage.store import Store, check_schema

    store = Store.from_url(url or get_settings().database_url)
    if checked:
        try:
            check_schema(store.engine)
        except Exception:
            store.dispose()
            raise
    return store


@db_app.command("upgrade")
def upgrade(url: UrlOpt = None) -> None:
    """Create the tables or migrate them to this version of triage (safe to run at every start)."""
    from triage.store.schema import head_revision
    from triage.store.schema import upgrade as run_upgrade

    store = open_store(url, checked=False)
    try:
        before = run_upgrade(store.engine)
        after = head_revision()
    finally:
        store.dispose()
    change = "up to date" if before == after else f"migrated from {before or 'empty'}"
    typer.echo(f"store {store.where}: revision {after} ({change})")


@db_app.command("check")
def check(url: UrlOpt = None) -> None:
    """Exit 0 when the store is at the revision this triage needs; else say why (exit 2)."""
    from triage.store import check_schema

    store = open_store(url, checked=False)
    try:
        revision = check_schema(store.engine)
    finally:
        store.dispose()
    typer.echo(f"store {store.where}: revision {revision}, up to date")


@db_app.command("purge")
def purge(
    url: UrlOpt = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Keep text this many days (default TRIAGE_TEXT_RETENTION_DAYS).")
    ] = None,
) -> None:
    """Remove the subject and body of tickets older than the retention; labels, decisions, reviews stay."""
    from triage.settings import get_settings
    from triage.store.purge import purge_text

    retention = days or get_settings().text_retention_days
    store = open_store(url)
    try:
        purged = purge_text(store, retention_days=retention, actor="triage db purge")
    finally:
        store.dispose()
    err.print(f"purged the text of {purged} tickets last received more than {retention} days ago")
