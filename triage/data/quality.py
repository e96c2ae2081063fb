"""The data-quality summary that ends every load: how each file was read, which column each field came from
and why, what was read, kept, dropped and why."""

from __future__ import annotations

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

MAX_LISTED_PROBLEMS = 50


class RowIssue(BaseModel):
    """One dropped or doubtful row: file, where (``line`` N of a text file, ``record`` N of a JSON list, ``row``
    N of a sheet), reason, detail. Never the ticket text."""

    file: str
    row: int
    reason: str
    detail: str = ""
    unit: str = "line"

    @property
    def where(self) -> str:
        """``tickets.csv line 12``."""
        return f"{self.file} {self.unit} {self.row}"


class HeadQuality(BaseModel):
    """Label facts of one head in the loaded data."""

    column: str
    labelled: int
    missing: int
    label_counts: dict[str, int]
    rare_classes: dict[str, int] = Field(
        default_factory=dict, description="classes with too few tickets to learn, and their counts"
    )
    rare_policy: str = ""


class FileRead(BaseModel):
    """How one file was read."""

    file: str
    format: str
    encoding: str | None = None
    rows: int = 0
    unit: str = "line"


class DataQualityReport(BaseModel):
    """Rows read, kept and dropped (by reason), the source of every field, per-head label counts, rare classes."""

    files: list[str]
    mapping: str
    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    warnings: dict[str, int] = Field(default_factory=dict, description="kept rows with a doubtful field")
    problems: list[RowIssue] = Field(default_factory=list, description=f"first {MAX_LISTED_PROBLEMS} issues")
    problems_total: int = 0
    columns: dict[str, str] = Field(default_factory=dict, description="canonical field -> export column used")
    sources: dict[str, str] = Field(
        default_factory=dict, description="canonical field -> why that column (first choice, fallback, named)"
    )
    absent: dict[str, str] = Field(default_factory=dict, description="field -> why no column was found")
    reads: list[FileRead] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what was decided while reading")
    cautions: list[str] = Field(default_factory=list, description="decisions the user should confirm")
    heads: dict[str, HeadQuality] = Field(default_factory=dict)
    provenance: dict[str, int] = Field(
        default_factory=dict,
        description="kept tickets by where their labels come from: export, outcome, agent_accepted, agent_corrected",
    )

    def add_issue(self, issue: RowIssue, *, dropped: bool) -> None:
        """Count an issue (as a dropped row or as a warning) and keep the first few for the report."""
        bucket = self.dropped if dropped else self.warnings
        bucket[issue.reason] = bucket.get(issue.reason, 0) + 1
        self.problems_total += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(issue)

    def note(self, text: str, *, caution: bool = False) -> None:
        """Record a decision once (a caution is printed in yellow: the user should confirm it)."""
        bucket = self.cautions if caution else self.notes
        if text not in bucket:
            bucket.append(text)

    def _render_sources(self, console: Console) -> None:
        table = Table("field", "column", "why", title="columns used", title_justify="left")
        for field, column in self.columns.items():
            table.add_row(field, column, self.sources.get(field, ""))
        for field, reason in self.absent.items():
            table.add_row(field, "[yellow]none[/]", reason)
        console.print(table)

    def render(self, console: Console | None = None) -> None:
        """Print the summary as tables (to stderr by default, so stdout stays machine-readable)."""
        console = console or Console(stderr=True, soft_wrap=True)
        for read in self.reads:
            encoding = f", {read.encoding}" if read.encoding else ""
            console.print(f"read {read.file}: {read.format}{encoding}, {read.rows} tickets")
        if self.columns or self.absent:
            self._render_sources(console)
        for text in self.notes:
            console.print(f"  {text}")
        for text in self.cautions:
            console.print(f"  [yellow]check:[/] {text}")
        dropped = sum(self.dropped.values())
        console.print(
            f"[bold]Data quality[/] ({self.mapping} mapping): {self.rows_read} rows read, "
            f"{self.rows_kept} kept, {dropped} dropped"
        )
        if self.dropped or self.warnings:
            table = Table("reason", "rows", "effect")
            for reason, n in sorted(self.dropped.items()):
                table.add_row(reason, str(n), "dropped")
            for reason, n in sorted(self.warnings.items()):
                table.add_row(reason, str(n), "kept, field ignored")
            console.print(table)
            for issue in self.problems[:10]:
                console.print(f"  {issue.where}: {issue.reason} {issue.detail}".rstrip())
            if self.problems_total > 10:
                console.print(f"  ... {self.problems_total - 10} more (see data_quality.json)")
        if set(self.provenance) - {"export"}:
            counts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.provenance.items(), key=lambda kv: -kv[1]))
            console.print(f"labels from: {counts}")
        for head, q in self.heads.items():
            console.print(
                f"[bold]{head}[/] from column {q.column!r}: {q.labelled} labelled, {q.missing} missing, "
                f"{len(q.label_counts)} classes"
            )
            if q.rare_classes:
                listed = ", ".join(f"{k} ({v})" for k, v in list(q.rare_classes.items())[:10])
                console.print(f"  [yellow]too rare to learn[/]: {listed}. {q.rare_policy}")
