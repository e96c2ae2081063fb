"""``triage export``: reviewed tickets as a training export (``triage train FILE`` reads it as is)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from triage.cli import app, err
from triage.cli.db import UrlOpt, open_store

export_app = typer.Typer(help="Export what the store learnt from reviews.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("reviews")
def reviews(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
            help="Only reviews from this date (UTC) on.",
        ),
    ] = None,
    include_not_a_ticket: Annotated[
        bool, typer.Option("--include-not-a-ticket", help="Also write 'not a ticket' rows (no labels).")
    ] = False,
    url: UrlOpt = None,
) -> None:
    """Write reviewed tickets (id, created_at, subject, body, category, priority, tier, provenance) as CSV:
    `triage export reviews --since 2026-11-01 --out reviews.csv`, then `triage train reviews.csv --out DIR`."""
    from triage.store.export import export_reviews

    store = open_store(url)
    try:
        summary = export_reviews(
            store,
            out,
            since=since.replace(tzinfo=UTC) if since else None,
            include_not_a_ticket=include_not_a_ticket,
        )
    finally:
        store.dispose()
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.by_provenance.items())) or "none"
    err.print(f"wrote {summary.rows} reviewed tickets to {out} ({kinds})")
    if summary.purged:
        err.print(f"[yellow]{summary.purged} reviewed tickets left out:[/] their text was purged (retention)")
    if summary.not_a_ticket and not include_not_a_ticket:
        err.print(f"{summary.not_a_ticket} 'not a ticket' reviews left out (--include-not-a-ticket writes them)")
