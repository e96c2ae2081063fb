"""Reading export files (CSV/TSV, JSON Lines, JSON, Parquet, Excel .xlsx; text files optionally gzip/bz2/xz/zip
compressed) into string tables, row by row, so that one malformed row is reported with its place (``line N`` of
a text file, ``record N`` of a JSON list, ``row N`` of a sheet) instead of aborting the load.

Columns repeated in a header (Jira writes ``Component/s`` once per value) and JSON lists become one multi-valued
column whose values are joined by :data:`~triage.data.records.MULTI_SEP`.
"""

from __future__ import annotations

import bz2
import csv
import datetime as dt
import gzip
import io
import json
import lzma
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from triage.data.encoding import decode_bytes
from triage.data.records import MULTI_SEP, flatten, is_envelope, unwrap
from triage.errors import DataError, NotATicketExport

csv.field_size_limit(sys.maxsize)

_COMPRESSED: dict[str, Any] = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "xlsx")
_DELIMITERS = ",;\t|"


@dataclass
class RowProblem:
    """A row that could not be used: where it is (``unit`` ``row``: line, record or row) and why, never its
    content."""

    file: str
    row: int
    reason: str
    detail: str = ""
    unit: str = "line"


@dataclass
class RawTable:
    """The rows of one file as strings, plus the rows that could not be parsed and how the file was read."""

    path: Path
    frame: pd.DataFrame
    row_numbers: list[int]
    problems: list[RowProblem] = field(default_factory=list)
    unit: str = "line"
    description: str = ""
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def detect_format(path: Path) -> tuple[str, str | None]:
    """(format, compression) from the file name, e.g. ``tickets.jsonl.gz`` -> ``("jsonl", ".gz")``."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes[-1] if suffixes and suffixes[-1] in (*_COMPRESSED, ".zip") else None
    if compression:
        suffixes = suffixes[:-1]
    ext = suffixes[-1].lstrip(".") if suffixes else ""
    ext = {"ndjson": "jsonl"}.get(ext, ext)
    if ext not in FORMATS:
        raise DataError(
            f"{path}: unknown export format {ext or '(no extension)'!r}; use one of "
            f"{', '.join('.' + f for f in FORMATS)}, text formats optionally compressed (.gz, .bz2, .xz, .zip)"
        )
    return ext, compression


def _read_bytes(path: Path, compression: str | None) -> bytes:
    if compression == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if not n.endswith("/")]
            if len(members) != 1:
                raise DataError(f"{path}: a zip export must hold exactly one file, found {len(members)}")
            return archive.read(members[0])
    data = path.read_bytes()
    return _COMPRESSED[compression](data) if compression else data


def _combine(header: list[str], rows: list[list[str]]) -> tuple[pd.DataFrame, list[str]]:
    """A frame with one column per distinct header name; a repeated name becomes one multi-valued column."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(name or f"column {i + 1}", []).append(i)
    columns: dict[str, list[str]] = {}
    for name, idx in positions.items():
        if len(idx) == 1:
            columns[name] = [row[idx[0]] for row in rows]
        else:
            columns[name] = [MULTI_SEP.join(v.strip() for v in (row[i] for i in idx) if v.strip()) for row in rows]
    repeated = [f"{name} (x{len(idx)})" for name, idx in positions.items() if len(idx) > 1]
    notes = [f"repeated columns read as multi-valued fields: {', '.join(repeated)}"] if repeated else []
    return pd.DataFrame(columns, dtype=str), notes


def _read_csv(path: Path, text: str, delimiter: str | None) -> RawTable:
    handle = io.StringIO(text)
    first = handle.readline()
    if first.lower().startswith("sep=") and len(first.strip()) == 5:  # Excel's delimiter hint line
        delimiter = first.strip()[4]
        offset = 1
    else:
        handle.seek(0)
        offset = 0
    if delimiter is None:
        delimiter = max(_DELIMITERS, key=first.count)
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise NotATicketExport(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise NotATicketExport(f"{path}: not a readable CSV file ({exc})") from None
    rows: list[list[str]] = []
    numbers: list[int] = []
    problems: list[RowProblem] = []
    while True:
        start = reader.line_num + 1 + offset  # the record's first physical line
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(str(path), start, "malformed", f"CSV error: {exc}"))
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            problems.append(RowProblem(str(path), start, "malformed", f"{len(row)} fields, header has {len(header)}"))
            continue
        rows.append(row)
        numbers.append(start)
    frame, notes = _combine(header, rows)
    name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(delimiter, repr(delimiter))
    return RawTable(path, frame, numbers, problems, "line", f"CSV ({name}-separated)", notes=notes)


def _records_table(
    path: Path, records: Sequence[tuple[int, Any]], problems: list[RowProblem], unit: str, description: str
) -> RawTable:
    rows: list[dict[str, str]] = []
    numbers: list[int] = []
    for number, record in records:
        if not isinstance(record, dict):
            problems.append(
                RowProblem(str(path), number, "malformed", f"a {type(record).__name__}, not an object", unit)
            )
            continue
        rows.append(flatten(record))
        numbers.append(number)
    frame = pd.DataFrame(rows, dtype=str).fillna("") if rows else pd.DataFrame(dtype=str)
    return RawTable(path, frame, numbers, problems, unit, description)


def _read_jsonl(path: Path, text: str) -> RawTable:
    records: list[tuple[int, Any]] = []
    problems: list[RowProblem] = []
    notes: list[str] = []
    pages = 0
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): JSON may hold a raw U+2028
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(RowProblem(str(path), number, "malformed", f"invalid JSON: {exc.msg}"))
            continue
        if is_envelope(doc):  # one API page (or one ticket with its assets) per line
            try:
                found = unwrap(doc, f"{path} line {number}")
            except NotATicketExport:
                problems.append(RowProblem(str(path), number, "malformed", "an API answer without tickets"))
                continue
            records.extend((number, r) for r in found.records)
            notes.extend(n for n in found.notes if n not in notes)
            pages += 1
        else:
            records.append((number, doc))
    what = f"JSON Lines ({pages} API answers)" if pages else "JSON Lines"
    table = _records_table(path, records, problems, "line", what)
    table.notes = notes
    return table


def _read_json(path: Path, text: str) -> RawTable:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotATicketExport(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    found = unwrap(doc, str(path))
    table = _records_table(path, list(enumerate(found.records, start=1)), [], "record", f"JSON ({found.what})")
    table.notes = found.notes
    return table


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a file that is not Parquet
        raise NotATicketExport(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    frame = frame.astype("string").fillna("").astype(str)
    return RawTable(path, frame, list(range(1, len(frame) + 1)), unit="row", description="Parquet")


def _cell(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _read_xlsx(path: Path) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        cells = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own types for zip, XML and format problems
        raise NotATicketExport(f"{path}: not a readable Excel workbook ({type(exc).__name__})") from None
    first_row = (sheet.start or (0, 0))[0] + 1  # Excel's row number of the first row calamine returns
    grid = [[_cell(v) for v in row] for row in cells]
    top = next((i for i, row in enumerate(grid) if any(v.strip() for v in row)), None)
    if top is None:
        raise NotATicketExport(f"{path}: the first sheet ({sheet.name!r}) is empty")
    header = [h.strip() for h in grid[top]]
    body = [(first_row + i, row) for i, row in enumerate(grid) if i > top and any(v.strip() for v in row)]
    frame, notes = _combine(header, [row for _, row in body])
    if len(workbook.sheet_names) > 1:
        notes.append(f"read sheet {sheet.name!r}, the first of {len(workbook.sheet_names)} (the others are ignored)")
    description = f"Excel workbook, sheet {sheet.name!r}"
    return RawTable(path, frame, [n for n, _ in body], unit="row", description=description, notes=notes)


def read_table(path: str | Path, *, encoding: str | None = None) -> RawTable:
    """All rows of one export file as strings; unparseable rows become :class:`RowProblem` entries.

    Text is decoded with ``encoding`` when given, else by BOM, as UTF-8 or with a detected encoding (said in
    ``table.encoding`` and ``table.notes``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt, compression = detect_format(path)
    if fmt in ("parquet", "xlsx"):
        if compression:
            raise DataError(f"{path}: {fmt} files are compressed internally; give the .{fmt} file itself")
        return _read_parquet(path) if fmt == "parquet" else _read_xlsx(path)
    try:
        data = _read_bytes(path, compression)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise NotATicketExport(f"{path}: cannot be read as {fmt}{compression or ''} ({exc})") from None
    decoded = decode_bytes(data, str(path), encoding)
    if fmt == "jsonl":
        table = _read_jsonl(path, decoded.text)
    elif fmt == "json":
        table = _read_json(path, decoded.text)
    else:
        table = _read_csv(path, decoded.text, "\t" if fmt == "tsv" else None)
    table.encoding = decoded.encoding
    if decoded.how == "detected":
        table.notes.insert(0, f"not UTF-8: read as {decoded.encoding} (detected; --encoding to override)")
    elif decoded.how == "given":
        table.notes.insert(0, f"read as {decoded.encoding} (--encoding)")
    return table
