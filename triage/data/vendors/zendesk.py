"""Zendesk: the API export (``/api/v2/tickets.json`` pages, incremental exports, JSON Lines of either), with
side-loads (``include=groups``: group names for ``group_id``) and custom fields by id
(``custom_field:360012345678``), and the CSV export of a view (display names: ``ID``, ``Requested``, ``Group``).

Zendesk has no category field: a desk keeps it in a custom field, which the user names. The ticket ``type``
(incident, question, task, problem) is used only when asked for (``--label category=type``)."""

from __future__ import annotations

from triage.data.mapping import ColumnMapping

PRESET = ColumnMapping(
    name="zendesk",
    id=["id"],
    created_at=["created_at"],
    subject=["subject"],
    body=["description"],
    labels={"category": ["category"], "priority": ["priority"], "tier": ["tier"]},
    tier_from=["group", "group_id"],
    aliases={
        "id": ["ID", "Ticket ID"],
        "created_at": ["Requested", "Created at"],
        "subject": ["Subject"],
        "description": ["Description"],
        "category": ["Category"],
        "priority": ["Priority"],
        "group": ["Group"],
        "type": ["Type", "Ticket type"],
    },
    value_maps={"priority": {"Urgent": "urgent", "High": "high", "Normal": "normal", "Low": "low"}},
    hints={
        "category": "Zendesk keeps categories in a custom field: name it, e.g. --label "
        "category=custom_field:360012345678 (API export) or --label category=Category (CSV); "
        "--label category=type learns Zendesk's ticket type (incident, question, task, problem)",
        "tier": "group_id holds numbers: export with include=groups to get group names, or map the ids to tiers "
        'with a tier_map ({"preset": "zendesk", "tier_map": {"360000123": "L1"}})',
    },
)
