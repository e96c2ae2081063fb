"""OTRS and Znuny: the GenericInterface ``TicketGet`` answer (``{"Ticket": [{"TicketNumber", "Title",
"Created", "Queue", "Priority", "Service", "Article": [...], "DynamicField": [{"Name", "Value"}]}]}``, with
``AllArticles=1`` and ``DynamicFields=1``): the first article is the request; priorities ``1 very low`` ...
``5 very high``; the queue gives the tier; dynamic fields are ``DynamicField:NAME``.

Category is the service; the ticket type only when asked for (``--label category=Type``)."""

from __future__ import annotations

from triage.data.mapping import ColumnMapping

PRESET = ColumnMapping(
    name="otrs",
    id=["TicketNumber", "TicketID"],
    created_at=["Created"],
    subject=["Title"],
    body=["Article.Body"],
    labels={"category": ["Service"], "priority": ["Priority"], "tier": ["tier"]},
    tier_from=["Queue"],
    aliases={
        "TicketNumber": ["Ticket#", "Ticket Number"],
        "Article.Body": ["Body"],
    },
    hints={
        "category": "OTRS keeps the category in the service; --label category=Type learns the ticket type, "
        "--label category=DynamicField:NAME a dynamic field"
    },
)
