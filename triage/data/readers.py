"""Reading export files (CSV/TSV, JSON Lines, JSON, Parquet; optionally gzip/bz2/xz/zip compressed) into
string tables, row by row, so that one malformed row is reported with its line number instead of aborting
the load.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from triage.errors import DataError, NotATicketExport

csv.field_size_limit(sys.maxsize)

_COMPRESSED: dict[str, Any] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")


@dataclass
class RowProblem:
    """A row that could not be used: where it is and why, never its content."""

    file: str
    row: int
    reason: str
    detail: str = ""


@dataclass
class RawTable:
    """The rows of one file as strings, plus the rows that could not be parsed."""

    path: Path
    frame: pd.DataFrame
    row_numbers: list[int]
    problems: list[RowProblem] = field(default_factory=list)


def detect_format(path: Path) -> tuple[str, str | None]:
    """(format, compression) from the file name, e.g. ``tickets.jsonl.gz`` -> ``("jsonl", ".gz")``."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in (*_COMPRESSED, ".zip") else None
    if compression:
        suffixes = suffixes[:-1]
    ext = suffixes[-1].lstrip(".") if suffixes else ""
    if ext == "ndjson":
        ext = "jsonl"
    if ext not in FORMATS:
        raise DataError(
            f"{path}: unknown export format {ext or '(no extension)'!r}; use one of "
            f"{', '.join('.' + f for f in FORMATS)}, optionally compressed (.gz, .bz2, .xz, .zip)"
        )
    return ext, compression


def _open_text(path: Path, compression: str | None) -> IO[str]:
    if compression == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if not n.endswith("/")]
            if len(members) != 1:
                raise DataError(f"{path}: a zip export must hold exactly one file, found {len(members)}")
            data = archive.read(members[0])
        return io.StringIO(data.decode("utf-8-sig", errors="replace"))
    if compression in _COMPRESSED:
        handle: IO[str] = _COMPRESSED[compression](path, "rt", encoding="utf-8-sig", errors="replace", newline="")
        return handle
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def _read_csv(path: Path, handle: IO[str], delimiter: str | None) -> RawTable:
    if delimiter is None:
        header_line = handle.readline()
        handle.seek(0)
        delimiter = max(",;\t|", key=header_line.count)
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise NotATicketExport(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise NotATicketExport(f"{path}: not a readable CSV file ({exc})") from None
    header = [h.strip() for h in header]
    rows: list[list[str]] = []
    numbers: list[int] = []
    problems: list[RowProblem] = []
    name = str(path)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(name, reader.line_num, "malformed", f"CSV error: {exc}"))
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            problems.append(
                RowProblem(name, reader.line_num, "malformed", f"{len(row)} fields, header has {len(header)}")
            )
            continue
        rows.append(row)
        numbers.append(reader.line_num)
    return RawTable(path, pd.DataFrame(rows, columns=header, dtype=str), numbers, problems)


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            flat[name] = ", ".join(str(v) for v in value)
        elif value is not None:
            flat[name] = str(value)
    return flat


def _records_table(path: Path, records: list[tuple[int, Any]], problems: list[RowProblem]) -> RawTable:
    rows: list[dict[str, str]] = []
    numbers: list[int] = []
    for number, record in records:
        if not isinstance(record, dict):
            problems.append(RowProblem(str(path), number, "malformed", f"a {type(record).__name__}, not an object"))
            continue
        rows.append(_flatten(record))
        numbers.append(number)
    frame = pd.DataFrame(rows, dtype=str).fillna("") if rows else pd.DataFrame(dtype=str)
    return RawTable(path, frame, numbers, problems)


def _read_jsonl(path: Path, handle: IO[str]) -> RawTable:
    records: list[tuple[int, Any]] = []
    problems: list[RowProblem] = []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(RowProblem(str(path), number, "malformed", f"invalid JSON: {exc.msg}"))
    return _records_table(path, records, problems)


def _read_json(path: Path, handle: IO[str]) -> RawTable:
    try:
        data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise NotATicketExport(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict):  # {"tickets": [...]} or {"results": [...]} as APIs return them
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise NotATicketExport(f"{path}: a JSON export must be a list of tickets or hold exactly one list")
        data = lists[0]
    if not isinstance(data, list):
        raise NotATicketExport(f"{path}: a JSON export must be a list of ticket objects")
    return _records_table(path, list(enumerate(data, start=1)), [])


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a file that is not Parquet
        raise NotATicketExport(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    frame = frame.astype("string").fillna("").astype(str)
    return RawTable(path, frame, list(range(1, len(frame) + 1)))


def read_table(path: str | Path) -> RawTable:
    """All rows of one export file as strings; unparseable rows become :class:`RowProblem` entries."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt, compression = detect_format(path)
    if fmt == "parquet":
        if compression:
            raise DataError(f"{path}: Parquet is compressed internally; give the .parquet file itself")
        return _read_parquet(path)
    try:
        with _open_text(path, compression) as handle:
            if fmt == "jsonl":
                return _read_jsonl(path, handle)
            if fmt == "json":
                return _read_json(path, handle)
            return _read_csv(path, handle, "\t" if fmt == "tsv" else None)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise NotATicketExport(f"{path}: cannot be read as {fmt}{compression or ''} ({exc})") from None
