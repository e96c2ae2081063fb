"""Zammad: the REST API's tickets with their assets (``GET /api/v1/tickets/{id}?all=true``, one answer per line
of a JSON Lines file, or a search answer ``{"tickets": [ids], "assets": {...}}``): group, priority and state
names are resolved from the assets and each ticket's first article is its body; a plain list of tickets from
``?expand=true`` (names already given, no article text) works too. Priorities are ``1 low``, ``2 normal``,
``3 high``; the group gives the tier.

Zammad has no category field: a desk adds one as a ticket attribute, which the user names."""

from __future__ import annotations

from typing import Any

from triage.data.mapping import ColumnMapping
from triage.data.records import Unwrapped

PRESET = ColumnMapping(
    name="zammad",
    id=["number", "id"],
    created_at=["created_at"],
    subject=["title"],
    body=["article.body"],
    labels={"category": ["category"], "priority": ["priority"], "tier": ["tier"]},
    tier_from=["group", "group_id"],
    aliases={"number": ["Number", "#"], "title": ["Title"], "created_at": ["Created at"], "group": ["Group"]},
    hints={
        "category": "Zammad has no category field: name the ticket attribute that holds it, e.g. --label "
        "category=service",
    },
)

_NAMED = {
    "group_id": ("group", "Group"),
    "priority_id": ("priority", "TicketPriority"),
    "state_id": ("state", "TicketState"),
}


def _first_articles(assets: dict[str, Any]) -> dict[str, dict[str, Any]]:
    first: dict[str, dict[str, Any]] = {}
    for article in (assets.get("TicketArticle") or {}).values():
        if not isinstance(article, dict) or "ticket_id" not in article:
            continue
        key = str(article["ticket_id"])
        if key not in first or int(article.get("id", 0)) < int(first[key].get("id", 0)):
            first[key] = article
    return first


def unwrap(doc: Any) -> Unwrapped | None:
    """The tickets of a Zammad answer that carries ``assets``, with names and first articles resolved."""
    if not isinstance(doc, dict) or not isinstance(doc.get("assets"), dict):
        return None
    assets = doc["assets"]
    tickets = assets.get("Ticket")
    if not isinstance(tickets, dict):
        return None
    if isinstance(doc.get("tickets"), list):
        ids = [str(i) for i in doc["tickets"]]
    elif "ticket_id" in doc:
        ids = [str(doc["ticket_id"])]
    else:
        ids = list(tickets)
    articles = _first_articles(assets)
    records = []
    for ticket_id in ids:
        ticket = tickets.get(ticket_id)
        if not isinstance(ticket, dict):
            continue
        record = dict(ticket)
        for key, (name, kind) in _NAMED.items():
            ref = (assets.get(kind) or {}).get(str(ticket.get(key)))
            if name not in record and isinstance(ref, dict) and "name" in ref:
                record[name] = ref["name"]
        article = articles.get(ticket_id)
        if article:
            record["article"] = {k: article.get(k) for k in ("subject", "body", "content_type", "sender", "type")}
        records.append(record)
    notes = ["Zammad assets: group, priority and state names resolved; each ticket's first article is its body"]
    return Unwrapped(records, "Zammad tickets with their assets", notes)
