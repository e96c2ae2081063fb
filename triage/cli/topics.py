"""``triage topics``: candidate categories among the recent tickets the model could not place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from triage.cli import app, err

if TYPE_CHECKING:
    from triage.topics import TopicReport

out = Console(soft_wrap=True)


@app.command()
def topics(
    url: Annotated[
        str | None,
        typer.Option("--database-url", "--url", help="Database URL (default: TRIAGE_DATABASE_URL)."),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model bundle whose encoder embeds (default: TRIAGE_MODEL_DIR).")
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Tickets received in the last N days.")] = 30,
    min_size: Annotated[
        int, typer.Option("--min-size", min=2, help="Smallest group of tickets proposed as a category.")
    ] = 5,
    limit: Annotated[int, typer.Option("--limit", min=2, help="Read at most this many tickets, the latest.")] = 5000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the candidate categories as JSON.")] = False,
) -> None:
    """Cluster recent tickets flagged unfamiliar, or corrected to a category the model does not have, and
    propose candidate categories: distinctive terms, size, growth this week against the week before, and
    three example tickets. `triage topics --days 30 --min-size 5`."""
    from triage.cli.db import open_store
    from triage.models import load_bundle
    from triage.settings import get_settings
    from triage.topics import store_topics

    bundle = load_bundle(model or get_settings().model_dir)
    store = open_store(url)
    try:
        report = store_topics(store, bundle, days=days, min_size=min_size, limit=limit)
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    _print(report)


def _print(report: TopicReport) -> None:
    err.print(
        f"{report.candidates} candidate tickets in the last {report.days} days ({report.unfamiliar} unfamiliar, "
        f"{report.new_category} corrected to a category model {report.model_version} lacks); "
        f"{report.clustered} of them in {len(report.topics)} candidate categories"
    )
    for topic in report.topics:
        terms = ", ".join(topic.terms) or "(no distinctive words)"
        out.print(
            f"\n[bold]{topic.number + 1}. {escape(terms)}[/]  {topic.size} tickets; "
            f"{topic.this_week} this week, {topic.previous_week} the week before ({topic.growth_text})"
        )
        for example in topic.examples:
            out.print(f"   {escape(example.ticket_id)}: {escape(example.text)}", highlight=False)
