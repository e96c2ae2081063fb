import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from triage.data.readers import read_table
from triage.errors import DataError, NotATicketExport


def test_csv_malformed_row_is_reported_with_its_line_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,subject,category\n1,printer jam,printer\n2,"too",many,fields\n3,vpn down,vpn\n')
    table = read_table(path)
    assert table.frame["id"].tolist() == ["1", "3"]
    assert [(p.row, p.reason) for p in table.problems] == [(3, "malformed")]
    assert "4 fields, header has 3" in table.problems[0].detail


def test_semicolon_csv_and_gzip_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("id;subject\n1;printer, offline\n")
    assert read_table(path).frame.to_dict("records") == [{"id": "1", "subject": "printer, offline"}]


def test_jsonl_bad_line_is_reported_and_nested_fields_flattened(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    lines = [
        json.dumps({"id": 1, "subject": "a", "custom_fields": {"category": "vpn"}}),
        "{not json",
        "[1, 2]",
    ]
    path.write_text("\n".join(lines) + "\n")
    table = read_table(path)
    assert table.frame.loc[0, "custom_fields.category"] == "vpn"
    assert [(p.row, p.reason) for p in table.problems] == [(2, "malformed"), (3, "malformed")]


def test_parquet_is_read_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"id": [1, 2], "subject": ["a", None]}).to_parquet(path)
    assert read_table(path).frame.to_dict("records") == [
        {"id": "1", "subject": "a"},
        {"id": "2", "subject": ""},
    ]


def test_json_array_export(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"tickets": [{"id": 1, "subject": "a"}]}))
    assert read_table(path).frame.loc[0, "subject"] == "a"


def test_binary_file_named_parquet_fails_with_one_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_bytes(b"\x00\x01not parquet")
    with pytest.raises(NotATicketExport, match="not a readable Parquet file"):
        read_table(path)


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(DataError, match="unknown export format 'xlsx'"):
        read_table(tmp_path / "t.xlsx")
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "absent.csv")
