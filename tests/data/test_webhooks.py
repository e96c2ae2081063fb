"""Webhook bodies read through the export presets: the same columns, aliases, value codes and tier_map as an
export of that system; a bundle trained on that system's exports lends its own mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.data import load_mapping
from triage.data.vendors import PRESETS
from triage.data.webhooks import WebhookBodyError, preset_mapping, read_webhook


def test_the_bundles_mapping_is_used_when_it_was_made_for_that_system(tmp_path: Path) -> None:
    path = tmp_path / "servicenow_mapping.json"
    path.write_text('{"preset": "servicenow", "tier_map": {"Network Ops": "L2"}}')
    trained = load_mapping(path)
    assert preset_mapping("servicenow", trained) is trained
    assert preset_mapping("servicenow", PRESETS["servicenow"].model_copy()) == PRESETS["servicenow"]
    assert preset_mapping("jira", trained) is PRESETS["jira"]  # trained on another system: its preset
    assert preset_mapping("zendesk", None) is PRESETS["zendesk"]
    body = {"number": "INC1", "subcategory": "vpn", "assignment_group": "Network Ops", "state": "Resolved"}
    [ticket] = read_webhook("servicenow", body, trained)
    assert ticket.labels == {"category": "vpn", "tier": "L2"} and ticket.resolved is True
    unmapped = read_webhook("servicenow", {**body, "assignment_group": "Facilities"}, trained)[0]
    assert unmapped.labels == {"category": "vpn"} and "not in the mapping's tier_map" in unmapped.notes[0]
    named = PRESETS["zendesk"].with_overrides(labels={"category": "custom_field:360012345678"})
    zendesk = {"ticket": {"id": 7, "status": "closed", "custom_fields": [{"id": 360012345678, "value": "billing"}]}}
    [ticket] = read_webhook("zendesk", zendesk, preset_mapping("zendesk", named))
    assert ticket.labels == {"category": "billing"} and ticket.fields["category"] == "ticket.custom_field:360012345678"


def test_times_and_states() -> None:
    [event] = read_webhook(
        "zendesk",
        {
            "type": "zen:event-type:ticket.status_changed",
            "detail": {"id": "9", "priority": "URGENT", "status": "SOLVED"},
        },
    )
    assert event.labels == {"priority": "urgent"} and event.resolved is True and event.resolved_at is None
    jira = {"timestamp": 1795538400000, "issue": {"key": "IT-1", "fields": {"priority": {"self": "u", "name": "P1"}}}}
    [issue] = read_webhook("jira", jira)
    assert issue.resolved is None and issue.resolved_at is not None and issue.resolved_at.year == 2026
    done = {"issue": {"key": "IT-2", "fields": {"priority": "P2", "status": {"statusCategory": {"key": "done"}}}}}
    assert read_webhook("jira", done)[0].resolved is True
    several = read_webhook("servicenow", [{"number": "A", "priority": "1"}, {"number": "B", "priority": "2"}])
    assert [t.id for t in several] == ["A", "B"]
    with pytest.raises(WebhookBodyError) as error:
        read_webhook(
            "servicenow", [{"number": "A", "priority": "1"}, {"number": "B", "priority": "2", "resolved_at": "x"}]
        )
    assert error.value.field == "1.resolved_at"
