"""A ticketing system's webhook body, as it comes, read into outcomes through the export preset's mapping.

ServiceNow: the incident's fields as a business rule or flow sends them (flat JSON, or the Table API's
``{"result": {...}}``; ``{"display_value", "value"}`` objects read as their display value, dates as their
value). Zendesk: a webhook's ``{"ticket": {...}}`` (or the ticket's fields flat, or an event webhook's
``{"detail": {...}}``). Jira: ``{"webhookEvent": ..., "issue": {"key": ..., "fields": {...}}}``. A list of
tickets (a JSON list, ServiceNow's ``{"result": [...]}``, Zendesk's ``{"tickets": [...]}``) gives several.

The columns come from the mapping (:mod:`triage.data.vendors`: the same candidates, aliases, value codes and
``tier_map`` as an export of that system), so the labels are those a model trained on its exports knows.
A body that says the ticket is not resolved yet (a status field) is read with ``resolved=False``.

>>> [t.labels for t in read_webhook("jira", {"issue": {"key": "IT-7", "fields": {"priority": {"self": "u",
...     "name": "High"}, "components": [{"self": "u", "name": "VPN"}], "resolutiondate": None}}})]
[{'category': 'VPN', 'priority': 'High'}]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from triage.data.columns import ALL_VALUES, Columns, Found
from triage.data.mapping import HEADS, ColumnMapping
from triage.data.records import MULTI_SEP, flatten
from triage.data.vendors import PRESETS, jira

SYSTEMS: tuple[str, ...] = ("servicenow", "zendesk", "jira")
"""Ticketing systems whose webhook bodies are read as they come."""

RESOLVED_AT = {
    "servicenow": ("resolved_at", "closed_at", "sys_updated_on"),
    "zendesk": ("solved_at", "updated_at"),
    "jira": ("resolutiondate", "updated"),
}
_STATUS = {"servicenow": ("state", "incident_state"), "zendesk": ("status",)}
_DONE = {
    "servicenow": {"6", "7", "resolved", "closed"},
    "zendesk": {"solved", "closed"},
}


class WebhookBodyError(ValueError):
    """A webhook body that cannot be read: ``field`` names where (dotted, as in the body)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


@dataclass(frozen=True, slots=True)
class WebhookTicket:
    """One ticket of a webhook body: its id, raw text, labels (mapped) and resolution."""

    id: str
    subject: str
    body: str
    labels: dict[str, str]
    resolved_at: datetime | None
    created_at: datetime | None
    resolved: bool | None  # None: the body does not say
    notes: list[str] = field(default_factory=list)  # what was decided while reading (never ticket text)
    fields: dict[str, str] = field(default_factory=dict)  # "id" and each head -> where in the body it was read


def _parse_time(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    if text.isdigit() and len(text) >= 12:  # milliseconds since the epoch (Jira's webhook timestamp)
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _servicenow_value(value: Any, *, raw: bool) -> Any:
    """A Table API field object as its display value (the value for dates: ``raw``)."""
    if isinstance(value, dict) and ("display_value" in value or "value" in value):
        return value.get("value") if raw or "display_value" not in value else value["display_value"]
    return value


Records = list[tuple[Any, str]]
"""Each ticket object of a body, with where it is in the body (a dotted prefix for error messages)."""


def _listed(items: list[Any], prefix: str) -> Records:
    return [(item, f"{prefix}{i}.") for i, item in enumerate(items)]


def _servicenow(doc: Any) -> Records:
    records = doc.get("result", doc) if isinstance(doc, dict) else doc
    prefix = "result." if isinstance(doc, dict) and "result" in doc else ""
    found = _listed(records, prefix) if isinstance(records, list) else [(records, prefix)]
    dates = set(RESOLVED_AT["servicenow"]) | {"opened_at", "sys_created_on"}
    return [
        ({k: _servicenow_value(v, raw=k in dates) for k, v in item.items()} if isinstance(item, dict) else item, where)
        for item, where in found
    ]


def _zendesk(doc: Any) -> Records:
    for key in ("ticket", "detail"):
        if isinstance(doc, dict) and isinstance(doc.get(key), dict):
            return [(doc[key], f"{key}.")]
    if isinstance(doc, dict) and isinstance(doc.get("tickets"), list):
        return _listed(doc["tickets"], "tickets.")
    return _listed(doc, "") if isinstance(doc, list) else [(doc, "")]


def _jira_issue(event: Any, where: str) -> tuple[dict[str, Any], str]:
    issue = event.get("issue") if isinstance(event, dict) else None
    if not isinstance(issue, dict) or not isinstance(issue.get("fields"), dict):
        raise WebhookBodyError(f"{where}issue.fields", "missing: a Jira webhook body holds the issue and its fields")
    unwrapped = jira.unwrap({"issues": [issue]})
    assert unwrapped is not None
    record = dict(unwrapped.records[0])
    fields = issue["fields"]
    status = fields.get("status")
    category = status.get("statusCategory") if isinstance(status, dict) else None
    done = isinstance(category, dict) and category.get("key") == "done"
    if fields.get("resolution") or fields.get("resolutiondate") or done:
        record["_resolved"] = True
    elif "resolution" in fields or "resolutiondate" in fields:
        record["_resolved"] = False
    if isinstance(event, dict) and event.get("timestamp") is not None:
        record["_timestamp"] = str(event["timestamp"])
    return record, f"{where}issue.fields."


def _jira(doc: Any) -> Records:
    events = _listed(doc, "") if isinstance(doc, list) else [(doc, "")]
    return [_jira_issue(event, where) for event, where in events]


_UNWRAP = {"servicenow": _servicenow, "zendesk": _zendesk, "jira": _jira}


class _Record:
    """One flattened ticket and the mapping's columns in it."""

    def __init__(self, flat: dict[str, str], mapping: ColumnMapping, prefix: str) -> None:
        self.flat, self.mapping, self.prefix = flat, mapping, prefix
        self.columns = Columns([k for k in flat if not k.startswith("_")], mapping.aliases)

    def where(self, column: str) -> str:
        return f"{self.prefix}{column}"

    def value(self, found: Found | None) -> str:
        if found is None:
            return ""
        parts = [p.strip() for p in self.flat[found.column].split(MULTI_SEP)]
        if found.pick == ALL_VALUES:
            return "; ".join(p for p in parts if p)
        index = (found.pick or 1) - 1
        return parts[index] if len(parts) > index else ""

    def first(self, candidates: Sequence[str]) -> tuple[str, str]:
        """(value, column) of the first candidate present with a value."""
        for candidate in candidates:
            found = self.columns.find([candidate])
            text = self.value(found)
            if found is not None and text:
                return text, found.column
        return "", ""


def _coded(mapping: ColumnMapping, head: str, value: str) -> str:
    codes = mapping.value_maps.get(head, {})
    if value in codes:
        return codes[value]
    folded = {k.casefold(): v for k, v in codes.items()}
    return folded.get(value.casefold(), value)


def _labels(record: _Record, notes: list[str], fields: dict[str, str]) -> dict[str, str]:
    mapping, labels = record.mapping, {}
    for head in HEADS:
        value, column = record.first(mapping.labels.get(head, []))
        if value:
            labels[head], fields[head] = _coded(mapping, head, value), record.where(column)
            continue
        if head == "tier" and mapping.tier_from:
            group, column = record.first(mapping.tier_from)
            fields["tier"] = record.where(column)
            if group and not mapping.tier_map:
                labels["tier"] = group
            elif group and group in mapping.tier_map:
                labels["tier"] = mapping.tier_map[group]
            elif group:
                notes.append(f"tier: {record.where(column)} is not in the mapping's tier_map; tier left empty")
    return labels


def _ticket(system: str, raw: dict[str, Any], mapping: ColumnMapping, where: str) -> WebhookTicket:
    record = _Record(flatten(raw), mapping, where)
    notes: list[str] = []
    ticket_id, id_column = record.first(mapping.id)
    if not ticket_id:
        raise WebhookBodyError(record.where(mapping.id[0]), f"missing: the ticket's id (looked for {mapping.id})")
    fields = {"id": record.where(id_column)}
    labels = _labels(record, notes, fields)
    if not labels:
        looked = {h: [*mapping.labels.get(h, []), *(mapping.tier_from if h == "tier" else [])] for h in HEADS}
        raise WebhookBodyError(where.rstrip(".") or "(request body)", f"no label found (looked for {looked})")
    resolved_at = None
    for column in (*RESOLVED_AT[system], "_timestamp"):
        text = record.flat.get(column, "").strip()
        if not text:
            continue
        resolved_at = _parse_time(text)
        if resolved_at is None:
            problem = "not a date and time (expected ISO 8601, e.g. 2026-11-20T10:00:00Z)"
            raise WebhookBodyError(record.where(column.lstrip("_")), problem)
        break
    created, _ = record.first(mapping.created_at)
    created_at = _parse_time(created) if created else None
    if created and created_at is None:
        notes.append("created_at: not an ISO 8601 date and time; left empty")
    subject, _ = record.first(mapping.subject)
    body, _ = record.first(mapping.body)
    resolved = _resolved(system, record)
    return WebhookTicket(ticket_id, subject, body, labels, resolved_at, created_at, resolved, notes, fields)


def _resolved(system: str, record: _Record) -> bool | None:
    if "_resolved" in record.flat:
        return record.flat["_resolved"] == "true"
    for column in _STATUS.get(system, ()):
        status = record.flat.get(column, "").strip()
        if status:
            return status.casefold() in _DONE[system]
    return None


def preset_mapping(system: str, trained: ColumnMapping | None = None) -> ColumnMapping:
    """The mapping to read ``system``'s bodies with: the bundle's training mapping when it was made for that
    system (it is the preset, or a mapping file extending it, with the bundle's tier_map and label choices),
    else the system's preset."""
    preset = PRESETS[system]
    if trained is not None and (
        trained.name == system or (preset.aliases and preset.aliases.items() <= trained.aliases.items())
    ):
        return trained
    return preset


def read_webhook(system: str, doc: Any, mapping: ColumnMapping | None = None) -> list[WebhookTicket]:
    """The tickets of a webhook body of ``system`` (one of :data:`SYSTEMS`); raises :class:`WebhookBodyError`
    naming the field at fault."""
    if system not in _UNWRAP:
        raise WebhookBodyError("system", f"unknown ticketing system {system!r}; one of {list(SYSTEMS)}")
    if not isinstance(doc, dict | list):
        raise WebhookBodyError("(request body)", f"expected a {system} webhook body (a JSON object)")
    records = _UNWRAP[system](doc)
    if not records:
        raise WebhookBodyError("(request body)", "holds no ticket")
    tickets = []
    for raw, where in records:
        if not isinstance(raw, dict):
            raise WebhookBodyError(where.rstrip(".") or "(request body)", "expected a ticket (a JSON object)")
        tickets.append(_ticket(system, raw, mapping or PRESETS[system], where))
    return tickets
