import json
from pathlib import Path

import pandas as pd
import pytest

from triage.data import load_mapping, load_tickets, parse_label_options
from triage.errors import ConfigError, DataError, NotATicketExport


def write(tmp_path: Path, rows: list[dict], name: str = "export.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_quality_summary_counts_every_drop_by_reason(tmp_path: Path) -> None:
    rows = [
        {"id": "1", "subject": "VPN down", "body": "", "category": "vpn", "created_at": "2026-01-02"},
        {"id": "2", "subject": "", "body": "<p>&nbsp;</p>", "category": "vpn", "created_at": "2026-01-03"},
        {"id": "3", "subject": "Printer jam", "body": "", "category": "", "created_at": "yesterday"},
        {"id": "4", "subject": "VPN down", "body": "", "category": "vpn", "created_at": "2026-01-04"},
        {"id": "1", "subject": "other", "body": "", "category": "printer", "created_at": "2026-01-05"},
        {"id": "6", "subject": "Printer jam", "body": "", "category": "printer", "created_at": "2026-01-06"},
    ]
    tickets = load_tickets([write(tmp_path, rows)], min_class_count=2)
    q = tickets.quality
    assert (q.rows_read, q.rows_kept) == (6, 2)
    assert q.dropped == {"empty_text": 1, "missing_label": 1, "duplicate_id": 1, "duplicate": 1}
    assert q.warnings == {"bad_timestamp": 1}
    assert q.heads["category"].label_counts == {"vpn": 1, "printer": 1}
    assert q.heads["category"].rare_classes == {"vpn": 1, "printer": 1}
    assert "left out of training" in q.heads["category"].rare_policy
    assert {p.row for p in q.problems if p.reason == "missing_label"} == {4}  # CSV line numbers
    assert "Printer jam" not in q.model_dump_json()  # the summary never carries ticket text


def test_servicenow_preset_derives_tier_from_assignment_group(tmp_path: Path) -> None:
    rows = [
        {
            "number": "INC1",
            "opened_at": "2026-01-01 10:00",
            "short_description": "VPN down",
            "description": "",
            "category": "network",
            "priority": "2 - High",
            "assignment_group": "Network Ops",
        },
        {
            "number": "INC2",
            "opened_at": "2026-01-01 11:00",
            "short_description": "Reset password",
            "description": "locked",
            "category": "access",
            "priority": "4 - Low",
            "assignment_group": "Mystery",
        },
    ]
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps({"preset": "servicenow", "tier_map": {"Network Ops": "L2"}}))
    tickets = load_tickets([write(tmp_path, rows)], load_mapping(mapping_file))
    frame = tickets.frame
    assert frame["id"].tolist() == ["INC1", "INC2"]
    assert frame["tier"].tolist()[0] == "L2" and pd.isna(frame["tier"].tolist()[1])
    assert frame["priority"].tolist() == ["2 - High", "4 - Low"]
    assert tickets.quality.warnings == {"tier_unmapped": 1}
    assert tickets.heads == ["category", "priority", "tier"]


def test_zendesk_and_jira_presets_find_their_columns(tmp_path: Path) -> None:
    zendesk = write(
        tmp_path,
        [
            {
                "id": 7,
                "created_at": "2026-02-01T10:00:00Z",
                "subject": "Refund",
                "description": "charged twice",
                "type": "question",
                "priority": "high",
            }
        ],
        "z.csv",
    )
    tickets = load_tickets([zendesk], load_mapping("zendesk").with_overrides(labels={"category": "type"}))
    assert tickets.frame.loc[0, ["category", "priority"]].tolist() == ["question", "high"]
    jira = write(
        tmp_path,
        [
            {
                "Issue key": "IT-1",
                "Created": "2026-02-01",
                "Summary": "Laptop",
                "Description": "broken",
                "Component/s": "hardware",
                "Priority": "Major",
            }
        ],
        "j.csv",
    )
    tickets = load_tickets([jira], load_mapping("jira"))
    assert tickets.frame.loc[0, ["id", "category", "text"]].tolist() == ["IT-1", "hardware", "Laptop. broken"]


def test_generic_mapping_from_command_line_options(tmp_path: Path) -> None:
    path = write(tmp_path, [{"title": "a", "details": "b", "team": "L1", "kind": "x"}])
    mapping = load_mapping(None).with_overrides(text=["title", "details"], labels=parse_label_options(["tier=team"]))
    tickets = load_tickets([path], mapping)
    assert tickets.frame.loc[0, ["text", "tier"]].tolist() == ["a. b", "L1"]


def test_a_file_that_is_not_a_ticket_export_fails_with_one_message(tmp_path: Path) -> None:
    path = write(tmp_path, [{"date": "2026-01-01", "temperature": 3.5}])
    with pytest.raises(NotATicketExport, match="no text column"):
        load_tickets([path])
    binary = tmp_path / "image.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(NotATicketExport):
        load_tickets([binary])


def test_no_label_column_is_a_clear_error_for_training_but_fine_for_prediction(tmp_path: Path) -> None:
    path = write(tmp_path, [{"subject": "a"}])
    with pytest.raises(DataError, match="no label column"):
        load_tickets([path])
    assert load_tickets([path], require_labels=False).frame["text"].tolist() == ["a"]


@pytest.mark.parametrize(
    ("options", "message"), [(["category"], "expected HEAD=COLUMN"), (["team=x"], "unknown head 'team'")]
)
def test_bad_label_options(options: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_label_options(options)


def test_mapping_file_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('preset = "servicenow"\nlabels = { team = "x" }\n')
    with pytest.raises(ConfigError, match="unknown head"):
        load_mapping(bad)
    with pytest.raises(ConfigError, match="neither a preset"):
        load_mapping("salesforce")
