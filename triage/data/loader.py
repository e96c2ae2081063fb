"""Loading ticket exports into canonical tickets, with a data-quality summary.

>>> from triage.data import load_tickets
>>> tickets = load_tickets(["datasets/helpdesk_tickets.csv.gz"])  # doctest: +SKIP
>>> tickets.frame[["id", "text", "category"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from triage.data.cleaning import PreparedText, ticket_text
from triage.data.columns import Columns, Found, values
from triage.data.dates import parse_times
from triage.data.mapping import HEADS, ColumnMapping
from triage.data.quality import DataQualityReport, FileRead, HeadQuality, RowIssue
from triage.data.readers import RawTable, read_table
from triage.data.records import MULTI_SEP
from triage.errors import DataError, NotATicketExport

CANONICAL = ("id", "created_at", "subject", "body", "text")
PROVENANCES = ("outcome", "agent_accepted", "agent_corrected", "export")
"""Where a ticket's labels come from (:mod:`triage.store.labels`); rows of an export file are ``export`` unless
the file says (``triage export reviews`` writes a ``provenance`` column)."""
_OLD_PROVENANCE = {"accepted": "agent_accepted", "corrected": "agent_corrected"}  # exports of triage 0.x
RARE_POLICY = "Their tickets are left out of training for this head (still used for the other heads)."
_RESERVED = {*CANONICAL, *HEADS}  # export columns with these names are never passed through as they are


@dataclass
class LabelledSource:
    """Tickets labelled elsewhere (the store's outcomes and reviews), already canonical: columns ``id``,
    ``created_at`` (UTC), ``subject`` and ``body`` (cleaned, as the model read them), the heads and
    ``provenance``. They win over an export's ticket with the same id."""

    name: str
    frame: pd.DataFrame
    notes: list[str]


@dataclass
class Tickets:
    """Canonical tickets (columns ``id, created_at, subject, body, text``, the heads, then the export's other
    columns, for slicing) and the quality summary of the load."""

    frame: pd.DataFrame
    quality: DataQualityReport

    @property
    def heads(self) -> list[str]:
        """The label heads present in the data, in canonical order."""
        return [h for h in HEADS if h in self.frame.columns]


class _FileColumns:
    """Finds the columns of one table for a mapping, records where each field came from and why, and fails
    on a column the user named that is not there."""

    def __init__(self, table: RawTable, mapping: ColumnMapping, report: DataQualityReport, require_labels: bool):
        self.table, self.mapping, self.report = table, mapping, report
        self.require_labels = require_labels
        self.columns = Columns(list(table.frame.columns), mapping.aliases)
        self.sources: dict[str, tuple[str, str]] = {}  # field -> (column, why)
        self.absent: dict[str, str] = {}
        self.used: set[str] = set()

    def missing(self, field: str, names: Sequence[str]) -> DataError:
        shown = ", ".join(repr(n) for n in names)
        return DataError(
            f"{self.table.path}: column {shown} (named by {self.mapping.required[field]}) not found; "
            f"the file has the columns {self.columns.listing()}"
        )

    def find(self, field: str, candidates: Sequence[str], *, is_label: bool = False) -> Found | None:
        found = self.columns.find(candidates)
        named = field in self.mapping.required and (self.require_labels or not is_label)
        if found is None and named:
            raise self.missing(field, candidates)
        if found is not None:
            self.used.add(found.column)
            self.sources[field] = (found.name, found.why(candidates, self.mapping.required.get(field)))
            if found.rank > 0 and field in self.mapping.hints:
                self.report.note(f"{field}: {self.mapping.hints[field]}")
        return found

    def take(self, field: str, found: Found, joiner: str = "; ") -> pd.Series:
        series, several = values(self.table.frame, found, joiner=joiner)
        if several and found.pick is None:
            self.report.note(
                f"{field} from {found.column!r}: {several} tickets have several values; the first was used "
                f"({found.column}[2] names the second, {found.column}[*] all of them)"
            )
        return series

    def not_found(self, field: str, looked: Sequence[str]) -> None:
        hint = self.mapping.hints.get(field, "")
        looked_for = ", ".join(repr(c) for c in looked) or "nothing (the mapping names no column)"
        self.absent[field] = f"not found (looked for {looked_for}){'; ' + hint if hint else ''}"


def _text_columns(cols: _FileColumns) -> tuple[Found | None, list[Found]]:
    mapping = cols.mapping
    if mapping.text:
        found = []
        for name in mapping.text:
            hit = cols.columns.find([name])
            if hit is None:
                raise cols.missing("text", [name])
            cols.used.add(hit.column)
            found.append(hit)
        cols.sources["subject"] = (found[0].name, "named by --text")
        if len(found) > 1:
            cols.sources["body"] = (" + ".join(f.name for f in found[1:]), "named by --text")
        return found[0], found[1:]
    subject, body = cols.find("subject", mapping.subject), cols.find("body", mapping.body)
    if subject is None and body is None:
        raise NotATicketExport(
            f"{cols.table.path}: not a ticket export for the {mapping.name!r} mapping: no text column (looked "
            f"for {[*mapping.subject, *mapping.body]}; the file has {cols.columns.listing(20)}). Name the text "
            "columns with --text COL[,COL]"
        )
    return subject, [body] if body else []


def _tier_from(cols: _FileColumns, frame: pd.DataFrame) -> None:
    mapping, table = cols.mapping, cols.table
    named = "tier_from" in mapping.required
    found = cols.columns.find(mapping.tier_from)
    if found is None:
        if named and cols.require_labels:
            raise cols.missing("tier_from", mapping.tier_from)
        if cols.require_labels:
            cols.not_found("tier", [*mapping.labels.get("tier", []), *mapping.tier_from])
        return
    cols.used.add(found.column)
    groups = cols.take("tier", found)
    why = found.why(mapping.tier_from, mapping.required.get("tier_from"))
    if not mapping.tier_map:
        frame["tier"] = groups
        cols.sources["tier"] = (found.name, f"{why}; its values used as tiers as they are (no tier_map given)")
    else:
        frame["tier"] = groups.map(mapping.tier_map).fillna("")
        cols.sources["tier"] = (found.name, f"{why}; mapped to tiers by tier_map ({len(mapping.tier_map)} values)")
        unmapped = (frame["tier"] == "") & (groups != "")
        for i in unmapped[unmapped].index:
            detail = f"{found.column}={groups[i]!r} is not in tier_map"
            issue = RowIssue(
                file=str(table.path), row=table.row_numbers[i], unit=table.unit, reason="tier_unmapped", detail=detail
            )
            cols.report.add_issue(issue, dropped=False)
    if "tier" in mapping.hints and found.rank > 0:
        cols.report.note(f"tier: {mapping.hints['tier']}")


def _labels(cols: _FileColumns, frame: pd.DataFrame) -> None:
    mapping = cols.mapping
    for head in HEADS:
        candidates = mapping.labels.get(head, [])
        found = cols.find(head, candidates, is_label=True)
        if found is None:
            if head == "tier" and mapping.tier_from:
                _tier_from(cols, frame)
            elif cols.require_labels:  # predicting needs no labels: their absence is no news
                cols.not_found(head, candidates)
            continue
        labels = cols.take(head, found)
        codes = mapping.value_maps.get(head, {})
        coded = labels.isin(list(codes))
        if coded.any():  # an export of codes (an API's): say what they mean; names (a CSV's) stay as they are
            labels = labels.where(~coded, labels.map(codes))
            column, why = cols.sources[head]
            cols.sources[head] = (column, f"{why}; read as {', '.join(f'{k}={v}' for k, v in codes.items())}")
            others = (~coded & (labels != "")).sum()
            if others:
                cols.report.note(f"{head}: {int(others)} values are not among the codes and kept as they are")
        frame[head] = labels


def _canonical(
    table: RawTable, mapping: ColumnMapping, report: DataQualityReport, require_labels: bool
) -> pd.DataFrame:
    raw = table.frame
    cols = _FileColumns(table, mapping, report, require_labels)
    subject, body = _text_columns(cols)
    frame = pd.DataFrame(index=raw.index)
    for field in ("id", "created_at"):
        found = cols.find(field, getattr(mapping, field))
        frame[field] = cols.take(field, found) if found else ""
        if found is None and field == "created_at":
            cols.not_found(field, mapping.created_at)
    frame["subject"] = cols.take("subject", subject) if subject else ""
    frame["body"] = ""
    if body:
        parts = [cols.take("body", b, joiner="\n") for b in body]
        frame["body"] = pd.concat(parts, axis=1).agg("\n".join, axis=1) if len(parts) > 1 else parts[0]
    if "id" not in cols.sources:
        frame["id"] = [f"{table.path.name}:{n}" for n in table.row_numbers]
        cols.not_found("id", mapping.id)
        cols.absent["id"] += f"; each ticket's id is {table.path.name}:<{table.unit} number>"
    frame["text"] = [ticket_text(s, b) for s, b in zip(frame["subject"], frame["body"], strict=True)]
    _labels(cols, frame)
    for column in raw.columns:
        if column not in cols.used and column not in _RESERVED and not str(column).startswith("_"):
            frame[column] = raw[column].str.replace(MULTI_SEP, "; ", regex=False)
    frame["_file"], frame["_row"], frame["_unit"] = str(table.path), table.row_numbers, table.unit
    _record_sources(cols, report)
    return frame


def _record_sources(cols: _FileColumns, report: DataQualityReport) -> None:
    order = ["id", "created_at", "subject", "body", *HEADS]
    sources = {f: cols.sources[f] for f in order if f in cols.sources}
    if not report.columns and not report.absent:
        report.columns = {f: column for f, (column, _) in sources.items()}
        report.sources = {f: why for f, (_, why) in sources.items()}
        report.absent = {f: cols.absent[f] for f in order if f in cols.absent}
        return
    for field, (column, why) in sources.items():
        if report.columns.get(field) != column:
            report.note(f"{cols.table.path.name}: {field} from {column!r} ({why})")


def _where(frame: pd.DataFrame) -> dict[int, str]:
    return {
        i: f"{f} {u} {r}" for i, f, u, r in zip(frame.index, frame["_file"], frame["_unit"], frame["_row"], strict=True)
    }


def _parse_times(frame: pd.DataFrame, report: DataQualityReport, mapping: ColumnMapping) -> None:
    where = _where(frame)
    column = report.columns.get("created_at", "created_at")
    times = parse_times(
        frame["created_at"],
        date_format=mapping.date_format,
        dayfirst=mapping.dayfirst,
        where=where.__getitem__,
        column=column,
    )
    for text in times.notes:
        report.note(text)
    for text in times.cautions:
        report.note(text, caution=True)
    given = frame["created_at"].fillna("").astype(str).str.strip()
    bad = times.values.isna() & (given != "")
    for i in bad[bad].index:
        report.add_issue(_issue(frame, i, "bad_timestamp", f"{column}={given[i][:40]!r} is not a date"), dropped=False)
    frame["created_at"] = times.values


def _issue(frame: pd.DataFrame, i: int, reason: str, detail: str = "") -> RowIssue:
    return RowIssue(
        file=frame.at[i, "_file"], row=int(frame.at[i, "_row"]), unit=frame.at[i, "_unit"], reason=reason, detail=detail
    )


def _drop(
    frame: pd.DataFrame, mask: pd.Series, reason: str, report: DataQualityReport, detail: str = ""
) -> pd.DataFrame:
    for i in mask[mask].index:
        report.add_issue(_issue(frame, i, reason, detail), dropped=True)
    return frame[~mask]


def _read(path: str | Path, mapping: ColumnMapping, report: DataQualityReport) -> RawTable:
    table = read_table(path, encoding=mapping.encoding)
    report.rows_read += len(table.frame) + len(table.problems)
    report.reads.append(
        FileRead(
            file=str(path), format=table.description, encoding=table.encoding, rows=len(table.frame), unit=table.unit
        )
    )
    for text in table.notes:
        report.note(f"{Path(path).name}: {text}")
    for problem in table.problems:
        report.add_issue(RowIssue(**vars(problem)), dropped=True)
    return table


def _provenance(frame: pd.DataFrame) -> pd.Series:
    """``export``, unless a ``provenance`` column of triage's own export names a known source."""
    if "provenance" not in frame.columns:
        return pd.Series("export", index=frame.index)
    given = frame["provenance"].fillna("").astype(str).str.strip().replace(_OLD_PROVENANCE)
    return given.where(given.isin(PROVENANCES), "export")


def _add_labelled(frame: pd.DataFrame, source: LabelledSource, report: DataQualityReport) -> pd.DataFrame:
    """The source's tickets added to the exports' (replacing an export's ticket with the same id)."""
    extra = source.frame.reset_index(drop=True).copy()
    report.rows_read += len(extra)
    report.files.append(source.name)
    report.reads.append(FileRead(file=source.name, format="labelled tickets", rows=len(extra), unit="ticket"))
    for text in source.notes:
        report.note(text)
    replaced = frame["id"].isin(set(extra["id"]))
    frame = _drop(frame, replaced, "replaced_by_store", report, f"the same id is labelled in {source.name}")
    extra["created_at"] = pd.to_datetime(extra["created_at"], utc=True)
    parts = zip(extra["subject"].fillna(""), extra["body"].fillna(""), strict=True)
    extra["text"] = [PreparedText(subject, body, False).text for subject, body in parts]  # cleaned in the store
    extra["_file"], extra["_row"], extra["_unit"] = source.name, range(1, len(extra) + 1), "ticket"
    return pd.concat([frame, extra], ignore_index=True)


def load_tickets(
    paths: Sequence[str | Path],
    mapping: ColumnMapping | None = None,
    *,
    require_labels: bool = True,
    dedupe: bool = True,
    min_class_count: int | None = None,
    labelled: LabelledSource | None = None,
) -> Tickets:
    """Read export files into canonical tickets. Bad rows are reported in ``quality`` and skipped, never
    silently; a file that is not a ticket export raises :class:`NotATicketExport`; a column the mapping's user
    named (``mapping.required``) that is absent raises :class:`DataError` listing the columns there are.

    ``require_labels`` drops tickets without any label (for training and evaluation); ``dedupe`` drops
    repeated ids and repeated (text, labels) rows; ``min_class_count`` lists rarer classes as too rare to
    learn. How to read the files (encoding, date order) comes from the mapping (see ``with_overrides``).
    ``labelled`` adds tickets labelled in the store (they win per id); ``provenance`` says where each
    ticket's labels come from, counted in ``quality.provenance``.
    """
    mapping = mapping or ColumnMapping()
    if not paths:
        raise DataError("no data files given")
    report = DataQualityReport(files=[str(p) for p in paths], mapping=mapping.name)
    frames = []
    for path in paths:
        table = _read(path, mapping, report)
        if len(table.frame):
            frames.append(_canonical(table, mapping, report, require_labels))
    if not frames:
        raise DataError(f"no readable rows in {', '.join(map(str, paths))}")
    frame = pd.concat(frames, ignore_index=True)
    heads = [h for h in HEADS if h in frame.columns]
    if require_labels and not heads:
        looked = {h: mapping.labels.get(h, []) for h in HEADS}
        raise DataError(f"no label column found (looked for {looked}); name one with --label HEAD=COLUMN")
    _parse_times(frame, report, mapping)
    frame["provenance"] = _provenance(frame)
    if labelled is not None:
        frame = _add_labelled(frame, labelled, report)
        heads = [h for h in HEADS if h in frame.columns]
    frame = _drop(frame, frame["text"] == "", "empty_text", report)
    for head in heads:
        frame[head] = frame[head].where(frame[head] != "")
    if require_labels:
        frame = _drop(frame, frame[heads].isna().all(axis=1), "missing_label", report, f"none of {heads}")
    if dedupe:
        frame = _drop(frame, frame["id"].duplicated(), "duplicate_id", report)
        frame = _drop(frame, frame.duplicated(subset=["text", *heads]), "duplicate", report, "same text and labels")
    for head in heads:
        counts = frame[head].value_counts()
        rare = counts[counts < min_class_count] if min_class_count else counts.iloc[:0]
        report.heads[head] = HeadQuality(
            column=report.columns.get(head, head),
            labelled=int(counts.sum()),
            missing=int(frame[head].isna().sum()),
            label_counts={str(k): int(v) for k, v in counts.items()},
            rare_classes={str(k): int(v) for k, v in rare.items()},
            rare_policy=RARE_POLICY if len(rare) else "",
        )
    report.provenance = {str(k): int(v) for k, v in frame["provenance"].value_counts().items()}
    report.rows_kept = len(frame)
    return Tickets(frame.reset_index(drop=True), report)
