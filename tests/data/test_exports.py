"""Exports as real desks write them (issue 11): repeated columns, display labels, day-first dates, legacy
encodings, API envelopes with side-loads and custom fields. One test (or more) per defect of the issue; each
asserts what a user would see: the labels learnt, the column each field came from, the message printed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from triage.data import load_mapping, load_tickets, parse_label_options
from triage.data.mapping import ColumnMapping
from triage.errors import DataError

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"


def _rendered(tickets: object) -> str:
    console = Console(record=True, width=200)
    tickets.quality.render(console)  # type: ignore[attr-defined]
    return console.export_text()


def _with(preset: str, **labels: str) -> ColumnMapping:
    return load_mapping(preset).with_overrides(labels=labels or None)


# Jira's repeated columns ------------------------------------------------------------------------------------
def test_jira_csv_repeated_columns_are_one_multi_valued_field() -> None:
    tickets = load_tickets([EXPORTS / "jira_issues.csv"], load_mapping("jira"))
    frame = tickets.frame
    assert len(frame) == 100 and tickets.quality.columns["category"] == "Component/s"
    assert set(frame["category"]) == {"Access Management", "Printers", "Applications", "Network", "Databases"}
    assert frame.loc[frame["id"] == "IT-1", "Labels"].item() == "access; emea"  # passed through, all values
    text = _rendered(tickets)
    assert "Component/s (x2), Labels (x3), Watchers (x2), Sprint (x2)" in text
    assert "tickets have several values; the first was used" in text


def test_jira_csv_label_may_name_a_repeated_column_or_pick_one_of_its_values() -> None:
    by_type = load_tickets([EXPORTS / "jira_issues.csv"], _with("jira", category="Issue Type"))
    assert set(by_type.frame["category"]) == {"Incident", "Task"}
    second = load_tickets([EXPORTS / "jira_issues.csv"], _with("jira", category="Component/s[2]"), require_labels=False)
    assert set(second.frame["category"].dropna()) == {"Hardware"}  # the printers' second component
    assert second.quality.columns["category"] == "Component/s[2]"


# A named column that is absent --------------------------------------------------------------------------------
@pytest.fixture
def small_export(tmp_path: Path) -> Path:
    rows = [
        {"id": i, "subject": f"printer {i} jams", "category": "printer", "priority": "P3", "created": "2025-03-01"}
        for i in range(6)
    ]
    path = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"labels": {"priority": "prio"}}, "--label priority=prio"),
        ({"labels": {"category": "sub_category"}}, "--label category=sub_category"),
        ({"text": ["title"]}, "--text"),
        ({"id_column": "ticket_no"}, "--id-column"),
        ({"time_column": "opened"}, "--time-column"),
    ],
)
def test_a_named_column_that_is_absent_is_an_error_listing_the_columns(
    small_export: Path, options: dict, named: str
) -> None:
    mapping = load_mapping(None).with_overrides(**options)
    with pytest.raises(DataError) as error:
        load_tickets([small_export], mapping)
    message = str(error.value)
    assert named in message and "'subject', 'category', 'priority'" in message and str(small_export) in message


def test_label_options_name_the_column_used(small_export: Path) -> None:
    mapping = load_mapping(None).with_overrides(labels=parse_label_options(["priority=category"]))
    tickets = load_tickets([small_export], mapping)
    assert tickets.quality.sources["priority"] == "named by --label priority=category"
    assert set(tickets.frame["priority"]) == {"printer"} and "category" in tickets.frame  # its own column stays


# ServiceNow: display labels and no silent fallback ------------------------------------------------------------
def _servicenow_rows(columns: list[str], n: int = 6) -> pd.DataFrame:
    values = {
        "Number": [f"INC{i:07d}" for i in range(n)],
        "Opened": [f"2025-02-{i + 1:02d} 10:00:00" for i in range(n)],
        "Short description": [f"VPN drops {i}" for i in range(n)],
        "Description": ["since this morning"] * n,
        "Category": ["Network"] * n,
        "Subcategory": ["VPN"] * n,
        "Priority": ["2 - High"] * n,
        "Urgency": ["1 - High"] * n,
        "Assignment group": ["Network Ops"] * n,
    }
    return pd.DataFrame({c: values[c] for c in columns})


def test_servicenow_display_labels_are_aliases_of_its_field_names(tmp_path: Path) -> None:
    path = tmp_path / "incident.csv"
    _servicenow_rows(
        ["Number", "Opened", "Short description", "Description", "Subcategory", "Priority", "Assignment group"]
    ).to_csv(path, index=False)
    tickets = load_tickets([path], load_mapping("servicenow"))
    assert tickets.quality.rows_kept == 6 and tickets.heads == ["category", "priority", "tier"]
    assert tickets.quality.columns == {
        "id": "Number",
        "created_at": "Opened",
        "subject": "Short description",
        "body": "Description",
        "category": "Subcategory",
        "priority": "Priority",
        "tier": "Assignment group",
    }
    assert tickets.frame["id"].tolist()[0] == "INC0000000"


def test_servicenow_without_priority_does_not_learn_urgency_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "incident.csv"
    _servicenow_rows(["Number", "Short description", "Category", "Urgency", "Assignment group"]).to_csv(
        path, index=False
    )
    tickets = load_tickets([path], load_mapping("servicenow"))
    assert "priority" not in tickets.heads
    assert "--label priority=urgency" in tickets.quality.absent["priority"]
    assert tickets.quality.sources["category"] == "fallback: 'subcategory' absent"
    text = _rendered(tickets)
    assert "fallback: 'subcategory' absent" in text and "priority" in text and "none" in text


def test_tier_without_tier_map_says_the_groups_are_used_as_they_are() -> None:
    tickets = load_tickets([EXPORTS / "servicenow_incidents.csv"], load_mapping("servicenow"))
    assert tickets.quality.columns["tier"] == "assignment_group"
    assert "no tier_map given" in tickets.quality.sources["tier"] and "via tier_map" not in _rendered(tickets)
    mapped = load_tickets([EXPORTS / "servicenow_incidents.xlsx"], load_mapping(EXPORTS / "servicenow_mapping.json"))
    assert (
        set(mapped.frame["tier"]) == {"L1", "L2", "L3"}
        and "mapped to tiers by tier_map" in mapped.quality.sources["tier"]
    )


# Dates: day first or month first --------------------------------------------------------------------------------
def test_day_first_dates_are_detected_and_months_stay_within_the_export(tmp_path: Path) -> None:
    days = pd.date_range("2025-01-06 09:00", periods=40, freq="31h")
    path = _dates(tmp_path, [f"{d:%d/%m/%Y %H:%M:%S}" for d in days])
    tickets = load_tickets([path])
    created = tickets.frame["created_at"]
    assert created.is_monotonic_increasing and created.notna().all()  # read month first, it was neither
    assert sorted(set(created.dt.strftime("%Y-%m"))) == ["2025-01", "2025-02"]
    assert any("dates read day first, as the export shows: '14/01/2025 03:00:00'" in n for n in tickets.quality.notes)


def test_servicenow_excel_resaved_export_day_first_and_windows_1252() -> None:
    tickets = load_tickets([EXPORTS / "servicenow_resaved.csv"], load_mapping("servicenow"), dedupe=False)
    assert tickets.frame["created_at"].is_monotonic_increasing
    assert sorted(set(tickets.frame["created_at"].dt.strftime("%Y-%m"))) == ["2025-01", "2025-02"]
    assert "José Müller" in set(tickets.frame["Caller"]) and tickets.quality.reads[0].encoding == "windows-1252"


def _dates(tmp_path: Path, dates: list[str]) -> Path:
    path = tmp_path / "dates.csv"
    pd.DataFrame({"subject": [f"vpn {i}" for i in range(len(dates))], "category": "vpn", "created_at": dates}).to_csv(
        path, index=False
    )
    return path


def test_ambiguous_dates_are_a_caution_and_the_user_decides(tmp_path: Path) -> None:
    path = _dates(tmp_path, ["01/11/2025 15:00:00", "02/11/2025 09:00:00", "03/12/2025 10:00:00"])
    tickets = load_tickets([path])
    assert tickets.frame["created_at"].dt.month.tolist() == [1, 2, 3]
    assert len(tickets.quality.cautions) == 1 and "could be day or month first" in tickets.quality.cautions[0]
    assert "check:" in _rendered(tickets)
    day_first = load_tickets([path], ColumnMapping().with_overrides(dayfirst=True))
    assert day_first.frame["created_at"].dt.month.tolist() == [11, 11, 12] and not day_first.quality.cautions
    formatted = load_tickets([path], ColumnMapping().with_overrides(date_format="%d/%m/%Y %H:%M:%S"))
    assert formatted.frame["created_at"].dt.day.tolist() == [1, 2, 3]


def test_dates_that_contradict_each_other_are_an_error_naming_them(tmp_path: Path) -> None:
    path = _dates(tmp_path, ["13/01/2025", "01/13/2025"])
    with pytest.raises(DataError, match=r"'13/01/2025' \(.*dates.csv line 2\).*'01/13/2025' \(.*line 3\)"):
        load_tickets([path])


# Encodings ---------------------------------------------------------------------------------------------------
def test_windows_1252_export_is_detected_and_said(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    rows = [
        f"{i};Drucker im Büro {i} druckt nicht;printer;{name}" for i, name in enumerate(["José Müller", "Zoë Lefèvre"])
    ]
    path.write_bytes("\r\n".join(["id;subject;category;caller", *rows]).encode("cp1252"))
    tickets = load_tickets([path])
    assert tickets.frame["caller"].tolist() == ["José Müller", "Zoë Lefèvre"]
    assert tickets.frame["text"].tolist()[0] == "Drucker im Büro 0 druckt nicht"
    assert tickets.quality.reads[0].encoding == "windows-1252"
    assert "not UTF-8: read as windows-1252 (detected; --encoding to override)" in _rendered(tickets)


def test_a_wrong_encoding_option_is_an_error_naming_the_line() -> None:
    mapping = load_mapping("servicenow").with_overrides(encoding="utf-8")
    with pytest.raises(DataError, match=r"servicenow_resaved.csv: not valid utf-8 at line \d+"):
        load_tickets([EXPORTS / "servicenow_resaved.csv"], mapping)


# Zendesk's API export ------------------------------------------------------------------------------------------
def test_zendesk_api_export_with_side_loads_and_custom_fields() -> None:
    mapping = _with("zendesk", category="custom_field:360012345678")
    tickets = load_tickets([EXPORTS / "zendesk_tickets.json"], mapping)
    frame = tickets.frame
    assert set(frame["category"]) == {"access", "printer", "software", "network", "database"}
    assert set(frame["tier"]) == {"Service Desk", "Desktop Support", "Network Ops", "DBA Team"}  # side-loaded names
    assert tickets.quality.columns["tier"] == "group"
    assert not frame.astype(str).apply(lambda c: c.str.contains("{'id'", regex=False)).any().any()  # no Python reprs
    assert any("group names for group_id from the side-loaded groups" in n for n in tickets.quality.notes)


def test_zendesk_category_is_never_the_ticket_type_unless_asked() -> None:
    plain = load_tickets([EXPORTS / "zendesk_tickets.json"], load_mapping("zendesk"))
    assert "category" not in plain.heads and "--label category=type" in plain.quality.absent["category"]
    typed = load_tickets([EXPORTS / "zendesk_tickets.json"], _with("zendesk", category="type"))
    assert set(typed.frame["category"]) == {"incident", "question", "task"}
    assert typed.quality.sources["category"] == "named by --label category=type"


def test_zendesk_without_side_loaded_groups_uses_group_ids_and_says_it(tmp_path: Path) -> None:
    doc = json.loads((EXPORTS / "zendesk_tickets.json").read_text())
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps({"tickets": doc["tickets"], "next_page": None}))
    tickets = load_tickets([path], load_mapping("zendesk"))
    assert tickets.quality.columns["tier"] == "group_id"
    assert tickets.quality.sources["tier"].startswith("fallback: 'group' absent")
    assert any("include=groups" in n for n in tickets.quality.notes)


# Where a problem is: line, record, row ----------------------------------------------------------------------
def test_problems_name_lines_of_text_files_and_records_of_json_lists(tmp_path: Path) -> None:
    csv_path = tmp_path / "t.csv"
    csv_path.write_text('id,subject,category\n1,"printer\njams",printer\n2,"too",many,fields\n3,vpn,vpn\n')
    from_csv = load_tickets([csv_path])
    (issue,) = from_csv.quality.problems
    assert (issue.unit, issue.row) == ("line", 4)  # the record after the two-line one starts on line 4
    assert f"{csv_path} line 4: malformed" in _rendered(from_csv)
    json_path = tmp_path / "t.json"
    json_path.write_text(json.dumps([{"id": 1, "subject": "vpn", "category": "vpn"}, ["not", "a", "ticket"]]))
    from_json = load_tickets([json_path])
    assert f"{json_path} record 2: malformed" in _rendered(from_json)
