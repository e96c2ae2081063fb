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

from triage.data.cleaning import ticket_text
from triage.data.mapping import HEADS, ColumnMapping
from triage.data.quality import DataQualityReport, HeadQuality, RowIssue
from triage.data.readers import RawTable, read_table
from triage.errors import DataError, NotATicketExport

CANONICAL = ("id", "created_at", "subject", "body", "text")
RARE_POLICY = "Their tickets are left out of training for this head (still used for the other heads)."


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


def _find(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first candidate present among the columns, compared case-insensitively."""
    lowered = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate in columns:
            return candidate
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    return None


def _canonical(table: RawTable, mapping: ColumnMapping, report: DataQualityReport) -> pd.DataFrame:
    raw = table.frame
    cols = list(raw.columns)
    if mapping.text:
        missing = [c for c in mapping.text if _find(cols, [c]) is None]
        if missing:
            raise NotATicketExport(f"{table.path}: text column(s) {missing} not found; the file has {cols[:20]}")
        text_cols = [str(_find(cols, [c])) for c in mapping.text]
        subject_col: str | None = text_cols[0]
        body_cols = text_cols[1:]
    else:
        subject_col, body_col = _find(cols, mapping.subject), _find(cols, mapping.body)
        body_cols = [body_col] if body_col else []
    if subject_col is None and not body_cols:
        wanted = [*mapping.subject, *mapping.body]
        raise NotATicketExport(
            f"{table.path}: not a ticket export for the {mapping.name!r} mapping: no text column "
            f"(looked for {wanted}; the file has {cols[:20]}). Name the text columns with --text COL[,COL]"
        )
    found: dict[str, str | None] = {
        "id": _find(cols, mapping.id),
        "created_at": _find(cols, mapping.created_at),
        "subject": subject_col,
        "body": "+".join(body_cols) or None,
    }
    frame = pd.DataFrame(index=raw.index)
    for name in ("id", "created_at", "subject"):
        column = found[name]
        frame[name] = raw[column].astype(str).str.strip() if column else ""
    frame["body"] = raw[body_cols].astype(str).agg("\n".join, axis=1) if body_cols else ""
    if found["id"] is None:
        frame["id"] = [f"{table.path.name}:{n}" for n in table.row_numbers]
    frame["text"] = [ticket_text(s, b) for s, b in zip(frame["subject"], frame["body"], strict=True)]
    for head in HEADS:
        column = _find(cols, mapping.labels.get(head, []))
        if column is not None:
            found[head] = column
            frame[head] = raw[column].astype(str).str.strip()
        elif head == "tier" and mapping.tier_from and (source := _find(cols, [mapping.tier_from])):
            found[head] = f"{source} (via tier_map)"
            groups = raw[source].astype(str).str.strip()
            frame[head] = groups.map(mapping.tier_map).fillna("") if mapping.tier_map else groups
            unmapped = (frame[head] == "") & (groups != "")
            for i in unmapped[unmapped].index:
                report.add_issue(
                    RowIssue(
                        file=str(table.path),
                        row=table.row_numbers[i],
                        reason="tier_unmapped",
                        detail=f"{source}={groups[i]!r} is not in tier_map",
                    ),
                    dropped=False,
                )
    used = {c for c in found.values() if c} | set(body_cols) | {mapping.tier_from}
    for column in cols:
        if column not in used and column not in frame.columns:
            frame[column] = raw[column]
    frame["_file"] = str(table.path)
    frame["_row"] = table.row_numbers
    report.columns = report.columns or {k: v for k, v in found.items() if v}
    return frame


def _parse_times(frame: pd.DataFrame, report: DataQualityReport) -> None:
    given = frame["created_at"].fillna("").astype(str).str.strip()
    parsed = pd.to_datetime(given.where(given != ""), errors="coerce", utc=True, format="mixed")
    bad = parsed.isna() & (given != "")
    for i in bad[bad].index:
        report.add_issue(
            RowIssue(
                file=frame.at[i, "_file"],
                row=int(frame.at[i, "_row"]),
                reason="bad_timestamp",
                detail=f"created_at={given[i][:40]!r} is not a date",
            ),
            dropped=False,
        )
    frame["created_at"] = parsed


def _drop(
    frame: pd.DataFrame, mask: pd.Series, reason: str, report: DataQualityReport, detail: str = ""
) -> pd.DataFrame:
    for i in mask[mask].index:
        report.add_issue(
            RowIssue(file=frame.at[i, "_file"], row=int(frame.at[i, "_row"]), reason=reason, detail=detail),
            dropped=True,
        )
    return frame[~mask]


def load_tickets(
    paths: Sequence[str | Path],
    mapping: ColumnMapping | None = None,
    *,
    require_labels: bool = True,
    dedupe: bool = True,
    min_class_count: int | None = None,
) -> Tickets:
    """Read export files into canonical tickets. Bad rows are reported in ``quality`` and skipped, never
    silently; a file that is not a ticket export raises :class:`NotATicketExport`.

    ``require_labels`` drops tickets without any label (for training and evaluation); ``dedupe`` drops
    repeated ids and repeated (text, labels) rows; ``min_class_count`` lists rarer classes as too rare to
    learn.
    """
    mapping = mapping or ColumnMapping()
    if not paths:
        raise DataError("no data files given")
    report = DataQualityReport(files=[str(p) for p in paths], mapping=mapping.name)
    frames = []
    for path in paths:
        table = read_table(path)
        report.rows_read += len(table.frame) + len(table.problems)
        for problem in table.problems:
            report.add_issue(RowIssue(**vars(problem)), dropped=True)
        if len(table.frame):
            frames.append(_canonical(table, mapping, report))
    if not frames:
        raise DataError(f"no readable rows in {', '.join(map(str, paths))}")
    frame = pd.concat(frames, ignore_index=True)
    heads = [h for h in HEADS if h in frame.columns]
    if require_labels and not heads:
        looked = {h: mapping.labels.get(h, []) for h in HEADS}
        raise DataError(f"no label column found (looked for {looked}); name one with --label HEAD=COLUMN")
    _parse_times(frame, report)
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
    report.rows_kept = len(frame)
    return Tickets(frame.reset_index(drop=True), report)
