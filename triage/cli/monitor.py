"""``triage monitor``: live quality from the store, as a table per head (or JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from triage.cli import app, err

if TYPE_CHECKING:
    from triage.monitoring import Counts, HeadQuality, QualitySummary, Reference, WindowQuality
    from triage.store.outcomes import Disagreements


class Window(StrEnum):
    week = "7"
    month = "30"


@app.command()
def monitor(
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="The store (default: TRIAGE_DATABASE_URL, sqlite:///triage.db)."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", help="Bundle whose precision targets and training labels to compare with (default: none)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    window: Annotated[
        Window | None, typer.Option("--window", help="Only the last 7 or 30 days (default: both).")
    ] = None,
) -> None:
    """Live quality per head and class: realised precision of auto-routed tickets (truth from outcomes, else
    reviews) with its 95% interval, acceptance of suggestions by agents, share deferred and why, unfamiliar
    rate, label drift against the training data."""
    from triage.cli.db import open_store
    from triage.monitoring import WINDOWS, Reference, compute_quality
    from triage.store.outcomes import disagreements

    reference = Reference.from_bundle_dir(model) if model is not None else Reference()
    windows = {f"{window.value}d": int(window.value)} if window is not None else WINDOWS
    store = open_store(database_url)
    try:
        summary = compute_quality(store, reference, windows=windows)
        conflicts = {
            name: disagreements(store, since=summary.computed_at - timedelta(days=days))
            for name, days in windows.items()
        }
    finally:
        store.dispose()
    if as_json:
        figures = summary.as_dict()
        figures["disagreements"] = {name: asdict(found) for name, found in conflicts.items()}
        typer.echo(json.dumps(figures, indent=2))
        return
    print_summary(summary, reference)
    for name, found in conflicts.items():
        typer.echo(_disagreement_line(name, found))


def _disagreement_line(name: str, found: Disagreements) -> str:
    """Where the ticketing system's final labels contradicted the desk's review or the model (the outcome
    wins as the training label; these counts say how often the sources disagree)."""

    def per_head(counts: dict[str, int]) -> str:
        return ", ".join(f"{head} {n}" for head, n in counts.items() if n) or "none"

    return (
        f"outcomes, last {name}: {found.outcomes}; differing from the agent's review ({found.reviewed} reviewed): "
        f"{per_head(found.with_review)}; from the model's suggestion ({found.suggested} triaged): "
        f"{per_head(found.with_suggestion)}"
    )


def print_summary(summary: QualitySummary, reference: Reference) -> None:
    out = Console()  # made now: the width of the terminal the command runs in (COLUMNS)
    truth = f"truth from {summary.truth}"
    against = f"model {reference.model_version}" if reference.model_version else "no model given (--model)"
    err.print(f"live quality at {summary.computed_at:%Y-%m-%d %H:%M} UTC; {truth}; {against}")
    out.print(f"review queue: {summary.queue_size} tickets")
    for name, window in summary.windows.items():
        out.print(_window_line(name, window))
        for head, quality in window.heads.items():
            out.print(_head_table(name, head, quality))


def _pct(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "–"


def _window_line(name: str, window: WindowQuality) -> str:
    reasons = ", ".join(f"{k} {n}" for k, n in sorted(window.reasons.items(), key=lambda kv: -kv[1])) or "none"
    return (
        f"[bold]last {name}[/]: {window.tickets} tickets, {_pct(window.coverage)} auto-routed, "
        f"{_pct(window.unfamiliar_share)} unfamiliar; deferred for: {reasons}; {window.reviews} reviews "
        f"(+{window.not_a_ticket} not a ticket)"
    )


def _head_table(name: str, head: str, quality: HeadQuality) -> Table:
    target = f", target {quality.target:.0%}" if quality.target is not None else ""
    drift = f", label drift {quality.drift:.3f}" if quality.drift is not None else ""
    warning = " [red]BELOW TARGET[/]" if quality.below_target else ""
    table = Table(
        "class",
        "tickets",
        "auto-routed",
        "precision [95% interval]",
        "judged",
        "accepted by agents",
        "deferred",
        "why deferred",
        "unfamiliar",
        title=f"{head}, last {name}{target}{drift}{warning}",
        title_justify="left",
    )
    for label, counts in sorted(quality.classes.items(), key=lambda kv: -kv[1].tickets):
        table.add_row(escape(label), *_cells(counts))
    table.add_row("[bold]all[/]", *_cells(quality.total), end_section=True)
    return table


def _cells(counts: Counts) -> list[str]:
    interval = counts.interval
    precision = f"{counts.precision:.1%} [{interval[0]:.1%}–{interval[1]:.1%}]" if interval else "–"
    acceptance = f"{_pct(counts.acceptance)} of {counts.reviewed}" if counts.reviewed else "–"
    top = sorted(counts.reasons.items(), key=lambda kv: -kv[1])[:3]
    return [
        str(counts.tickets),
        str(counts.auto_routed),
        precision,
        str(counts.judged),
        acceptance,
        _pct(counts.deferred_share),
        ", ".join(f"{k} {n}" for k, n in top),
        _pct(counts.unfamiliar_share),
    ]
