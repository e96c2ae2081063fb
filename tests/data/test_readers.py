import gzip
import json
import zipfile
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
    (tmp_path / "t.pdf").write_text("x")
    with pytest.raises(DataError, match="unknown export format 'pdf'"):
        read_table(tmp_path / "t.pdf")
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "absent.csv")


def export_frame() -> pd.DataFrame:
    """Tickets as desks export them: commas, quotes, a line break and accents inside fields, an empty body."""
    return pd.DataFrame(
        {
            "id": ["INC1", "INC2", "INC3", "INC4"],
            "subject": ["printer jam, floor 2", 'the "big" printer', "VPN drops", "Chloé's laptop"],
            "body": ["toner; paper", "it says:\nPC LOAD LETTER", "", "écran noir"],
            "category": ["printer", "printer", "vpn", "hardware"],
        }
    )


def write_export(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` written as a system exports it, the format and compression named by the file's suffixes."""
    fmt = path.name.split(".")[1]
    if fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)  # compression from the suffix
    else:
        frame.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",")
    return path


@pytest.mark.parametrize(
    "name",
    [
        "t.csv.gz",
        "t.csv.bz2",
        "t.csv.xz",
        "t.csv.zip",
        "t.tsv",
        "t.tsv.gz",
        "t.tsv.bz2",
        "t.tsv.xz",
        "t.tsv.zip",
        "t.jsonl.bz2",
        "t.jsonl.xz",
        "t.jsonl.zip",
    ],
)
def test_compressed_and_tab_separated_exports_give_every_row_and_column(tmp_path: Path, name: str) -> None:
    expected = export_frame()
    table = read_table(write_export(expected, tmp_path / name))
    assert table.problems == []
    assert table.frame.columns.tolist() == expected.columns.tolist()
    assert len(table.row_numbers) == len(expected) and table.row_numbers == sorted(set(table.row_numbers))
    pd.testing.assert_frame_equal(table.frame.reset_index(drop=True), expected, check_dtype=False)


def test_tsv_keeps_commas_and_semicolons_inside_fields(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("id\tsubject\tcategory\n1\tprinter, toner; paper\tprinter\n2\tvpn\tvpn\n")
    table = read_table(path)
    assert table.frame.to_dict("records") == [
        {"id": "1", "subject": "printer, toner; paper", "category": "printer"},
        {"id": "2", "subject": "vpn", "category": "vpn"},
    ]


def test_zip_from_a_spreadsheet_with_a_folder_bom_and_crlf_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("export/", "")  # a folder entry, as desktop zip tools write them
        archive.writestr("export/tickets.csv", "\ufeffid,subject,category\r\n1,VPN down,vpn\r\n2,no ink,printer\r\n")
    table = read_table(path)
    assert table.frame.columns.tolist() == ["id", "subject", "category"]  # no BOM in the first column's name
    assert table.frame["subject"].tolist() == ["VPN down", "no ink"] and table.row_numbers == [2, 3]


@pytest.mark.parametrize("members", [["a.csv", "b.csv"], []])
def test_zip_must_hold_exactly_one_file(tmp_path: Path, members: list[str]) -> None:
    path = tmp_path / "t.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("folder/", "")
        for member in members:
            archive.writestr(member, "id,subject\n1,a\n")
    with pytest.raises(DataError, match=f"exactly one file, found {len(members)}"):
        read_table(path)


@pytest.mark.parametrize("name", ["t.csv.gz", "t.csv.bz2", "t.csv.xz", "t.csv.zip"])
def test_a_file_that_is_not_what_its_compression_says_is_one_clear_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("id,subject\n1,printer jam\n")  # plain text behind a compressed name
    with pytest.raises(NotATicketExport, match=rf"cannot be read as csv\.{name.rsplit('.', 1)[1]}"):
        read_table(path)
