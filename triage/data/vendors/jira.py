"""Jira: the CSV export (Filters, Export, CSV), which repeats a column once per value (``Component/s``,
``Labels``, ``Watchers``, ``Sprint``) and names custom fields ``Custom field (Team)``, with dates like
``11/Jan/25 3:05 PM``; and the JSON of the REST search (``{"issues": [{"key", "fields": {...}}]}``, API v2 text
or v3 Atlassian Document Format descriptions; ``expand=names`` gives custom fields their names).

Category is the first component (``Component/s[2]`` picks the second); the issue type only when asked for."""

from __future__ import annotations

from typing import Any

from triage.data.mapping import ColumnMapping
from triage.data.records import Unwrapped

PRESET = ColumnMapping(
    name="jira",
    id=["Issue key", "Issue id"],
    created_at=["Created"],
    subject=["Summary"],
    body=["Description"],
    labels={"category": ["Component/s"], "priority": ["Priority"], "tier": ["tier"]},
    tier_from=["Custom field (Team)", "Team"],
    aliases={
        "Issue key": ["key"],
        "Issue id": ["id"],
        "Created": ["created"],
        "Summary": ["summary"],
        "Description": ["description"],
        "Component/s": ["Components", "components"],
        "Priority": ["priority"],
        "Issue Type": ["issuetype"],
    },
    hints={
        "category": "the category is Jira's Component/s; for the issue type say --label category='Issue Type'",
        "tier": "name the field that holds the team, e.g. --label tier='Custom field (Assignment group)' (CSV) or "
        "--label tier=customfield_10010 (JSON without expand=names)",
    },
)


def _collapse(value: Any) -> Any:
    """Jira's REST objects (``{"self": url, "name": "High", ...}``) become their name or value."""
    if isinstance(value, list):
        return [_collapse(v) for v in value]
    if isinstance(value, dict) and ("self" in value or "accountId" in value):
        for key in ("value", "name", "displayName", "key"):
            if key in value:
                return value[key]
    return value


def unwrap(doc: Any) -> Unwrapped | None:
    """The issues of a Jira REST search result, their ``fields`` lifted next to ``key`` and ``id``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("issues"), list):
        return None
    issues = doc["issues"]
    if not all(isinstance(i, dict) and isinstance(i.get("fields"), dict) for i in issues):
        return None
    names: dict[str, Any] = doc["names"] if isinstance(doc.get("names"), dict) else {}
    records = []
    for issue in issues:
        fields = {str(k): _collapse(v) for k, v in issue["fields"].items()}
        for field_id, title in names.items():
            if str(field_id).startswith("customfield_") and field_id in fields:
                fields[f"Custom field ({title})"] = fields[field_id]
        records.append({"key": issue.get("key"), "id": issue.get("id"), **fields})
    named = "custom fields named from 'names'" if names else "custom fields by id (search with expand=names for names)"
    return Unwrapped(records, "the Jira search result's issues", [f"Jira REST search: {named}"])
