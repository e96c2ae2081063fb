"""Options shared by several commands, and how they become a column mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from triage.data import ColumnMapping, load_mapping, parse_label_options

DataArg = Annotated[list[Path], typer.Argument(help="Export files: .csv, .tsv, .jsonl, .json, .parquet (.gz ok).")]
TextOpt = Annotated[str | None, typer.Option("--text", help="Text column(s), comma-separated, e.g. title,body.")]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option("--label", help="HEAD=COLUMN, repeatable; HEAD is category, priority or tier."),
]
MappingOpt = Annotated[
    str | None,
    typer.Option("--mapping", help="Preset (servicenow, zendesk, jira, generic) or a JSON/TOML mapping file."),
]
IdOpt = Annotated[str | None, typer.Option("--id-column", help="Column holding the ticket id.")]
TimeOpt = Annotated[str | None, typer.Option("--time-column", help="Column holding the creation time.")]
ModelOpt = Annotated[Path, typer.Option("--model", help="Model bundle directory.")]


def mapping_from_options(
    mapping: str | None,
    text: str | None,
    labels: list[str] | None,
    id_column: str | None,
    time_column: str | None,
) -> ColumnMapping:
    """The mapping a command uses: a preset or file, with command-line columns on top."""
    columns = [c.strip() for c in text.split(",") if c.strip()] if text else None
    return load_mapping(mapping).with_overrides(
        text=columns, labels=parse_label_options(labels), id_column=id_column, time_column=time_column
    )
