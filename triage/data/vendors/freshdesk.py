"""Freshdesk and Freshservice: the API's tickets (Freshdesk ``GET /api/v2/tickets``: a JSON list; Freshservice:
``{"tickets": [...]}``), priorities as codes 1 low ... 4 urgent, the group as ``group_id``, custom fields as
``custom_fields.cf_NAME``; and the CSV exports (``Ticket ID``, ``Subject``, ``Description``, ``Type``,
``Priority``, ``Group``, ``Created time``; Freshservice adds ``Category``, ``Sub-Category``, ``Created Date``).

Freshdesk's category is its ticket type (a list each desk defines); Freshservice's is the sub-category, or the
category where no sub-category is exported."""

from __future__ import annotations

from triage.data.mapping import ColumnMapping

_PRIORITIES = {"1": "Low", "2": "Medium", "3": "High", "4": "Urgent"}
_GROUP_HINT = (
    "the API gives group ids: map them to tiers with a tier_map "
    '({"preset": "freshdesk", "tier_map": {"43000123": "L1"}}), or use the CSV export with group names'
)

FRESHDESK = ColumnMapping(
    name="freshdesk",
    id=["id"],
    created_at=["created_at"],
    subject=["subject"],
    body=["description_text", "description"],
    labels={"category": ["type"], "priority": ["priority"], "tier": ["tier"]},
    tier_from=["group", "group_id"],
    aliases={
        "id": ["Ticket ID", "Ticket Id"],
        "created_at": ["Created time", "Created Time"],
        "subject": ["Subject"],
        "description": ["Description"],
        "type": ["Type"],
        "priority": ["Priority"],
        "group": ["Group"],
    },
    value_maps={"priority": _PRIORITIES},
    hints={"tier": _GROUP_HINT},
)

FRESHSERVICE = FRESHDESK.model_copy(
    update={
        "name": "freshservice",
        "labels": {"category": ["sub_category", "category"], "priority": ["priority"], "tier": ["tier"]},
        "aliases": {
            **FRESHDESK.aliases,
            "id": ["Ticket Id", "Ticket ID", "Display Id"],
            "created_at": ["Created Date", "Created Time"],
            "sub_category": ["Sub-Category", "Sub Category"],
            "category": ["Category"],
        },
        "hints": {"tier": _GROUP_HINT.replace('"freshdesk"', '"freshservice"')},
    }
)
