"""ServiceNow list exports (right-click a list header, Export): CSV with field names (``short_description``),
Excel with display labels (``Short description``); priorities ``1 - Critical`` ... ``5 - Planning``; the tier
from the assignment group through a ``tier_map``."""

from __future__ import annotations

from triage.data.mapping import ColumnMapping

PRESET = ColumnMapping(
    name="servicenow",
    id=["number", "sys_id"],
    created_at=["opened_at", "sys_created_on"],
    subject=["short_description"],
    body=["description", "comments"],
    labels={"category": ["subcategory", "category"], "priority": ["priority"], "tier": ["tier"]},
    tier_from=["assignment_group"],
    aliases={
        "number": ["Number"],
        "sys_id": ["Sys ID"],
        "opened_at": ["Opened"],
        "sys_created_on": ["Created"],
        "short_description": ["Short description"],
        "description": ["Description"],
        "comments": ["Additional comments"],
        "subcategory": ["Subcategory"],
        "category": ["Category"],
        "priority": ["Priority"],
        "assignment_group": ["Assignment group"],
    },
    hints={
        "priority": "ServiceNow derives priority from impact and urgency; to learn urgency instead, say "
        "--label priority=urgency",
        "tier": 'map assignment groups to tiers in a mapping file: {"preset": "servicenow", "tier_map": '
        '{"Service Desk": "L1", "Network Ops": "L2"}}',
    },
)
