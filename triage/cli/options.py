"""Options shared by several commands, and how they become a column mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from triage.data import ColumnMapping, load_mapping, parse_label_options

DataArg = Annotated[
    list[Path],
    typer.Argument(help="Export files: .csv, .tsv, .jsonl, .json, .parquet, .xlsx (text formats may be .gz, .zip)."),
]
TextOpt = Annotated[str | None, typer.Option("--text", help="Text column(s), comma-separated, e.g. title,body.")]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--label",
        help="HEAD=COLUMN, repeatable; HEAD is category, priority or tier. COLUMN[2] takes the second value of a "
        "repeated column (Jira's Component/s), COLUMN[*] all of them.",
    ),
]
MappingOpt = Annotated[
    str | None,
    typer.Option(
        "--mapping",
        help="Preset (servicenow, zendesk, jira, jitbit, okdesk, freshdesk, freshservice, otrs, znuny, zammad, "
        "generic) or a JSON/TOML mapping file.",
    ),
]
IdOpt = Annotated[str | None, typer.Option("--id-column", help="Column holding the ticket id.")]
TimeOpt = Annotated[str | None, typer.Option("--time-column", help="Column holding the creation time.")]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Text encoding of the export, e.g. windows-1252 (default: detected)."),
]
DateFormatOpt = Annotated[
    str | None,
    typer.Option("--date-format", help="Format of the creation time, e.g. '%d/%m/%Y %H:%M' (default: detected)."),
]
DayfirstOpt = Annotated[
    bool | None,
    typer.Option(
        "--dayfirst/--monthfirst",
        help="Numeric dates such as 01/11/2025 are day first / month first (default: as the data shows).",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    Path,
    typer.Option(
        "--model",
        help="Model bundle directory, or a registered model (models:/NAME@ALIAS or models:/NAME/VERSION: "
        "downloaded and verified as serve does).",
    ),
]


def mapping_from_options(
    mapping: str | None,
    text: str | None,
    labels: list[str] | None,
    id_column: str | None,
    time_column: str | None,
    *,
    encoding: str | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    stored: dict[str, Any] | None = None,
) -> ColumnMapping:
    """The mapping a command uses: a preset or file, with command-line columns and reading options on top.
    Without ``--mapping``, the mapping ``stored`` in a model bundle (the training export's) is the base, so a
    bundle is evaluated on the columns it was trained on; how the training file was read (its encoding and
    date order) is not carried over: each file's own is detected."""
    columns = [c.strip() for c in text.split(",") if c.strip()] if text else None
    if mapping is None and stored is not None:
        base = ColumnMapping.model_validate({**stored, "encoding": None, "date_format": None, "dayfirst": None})
    else:
        base = load_mapping(mapping)
    return base.with_overrides(
        text=columns,
        labels=parse_label_options(labels),
        id_column=id_column,
        time_column=time_column,
        encoding=encoding,
        date_format=date_format,
        dayfirst=dayfirst,
    )
