"""Jitbit Helpdesk: the API's tickets (``GET /api/Ticket?id=N``: ``TicketID``, ``Subject``, HTML ``Body``,
``CategoryName``, ``Priority`` as -1 low, 0 normal, 1 high, 2 critical, ``IssueDate``), a JSON list of them; and
the ticket-list export (columns as the list shows them: ``ID``, ``Subject``, ``Body``, ``Category``,
``Priority``, ``Date``, custom fields by their names).

Jitbit has no team field: the tier comes from a custom field the user names."""

from __future__ import annotations

from triage.data.mapping import ColumnMapping

PRESET = ColumnMapping(
    name="jitbit",
    id=["TicketID"],
    created_at=["IssueDate"],
    subject=["Subject"],
    body=["Body"],
    labels={"category": ["CategoryName"], "priority": ["Priority"], "tier": ["tier"]},
    aliases={
        "TicketID": ["IssueID", "Ticket ID", "ID", "#"],
        "IssueDate": ["Date", "Created", "Issue date"],
        "Body": ["Text", "Message"],
        "CategoryName": ["Category"],
    },
    value_maps={"priority": {"-1": "Low", "0": "Normal", "1": "High", "2": "Critical"}},
    hints={
        "tier": "Jitbit has no team field: name the custom field that holds the tier, e.g. --label "
        "tier='Support level'",
    },
)
