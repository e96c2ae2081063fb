"""JSON ticket records as flat string columns, and the envelopes ticket APIs wrap them in.

Nested objects become dotted names (``via.channel``); lists become multi-valued cells (values joined by
:data:`MULTI_SEP`, one value per list item: ``tags``, ``components.name``); custom-field lists of ``{id, value}``
become one column per field (``custom_field:360012345678``, ``parameter:CODE``, ``DynamicField:Name``).
An API envelope (``{"tickets": [...], "groups": [...]}``) gives its ticket list; side-loaded lists of named
objects turn ``group_id`` into ``group``, ``organization_id`` into ``organization``, and so on.

>>> flatten({"id": 7, "tags": ["vpn", "vip"], "custom_fields": [{"id": 36, "value": "billing"}]})
{'id': '7', 'tags': 'vpn\\x1fvip', 'custom_field:36': 'billing'}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from triage.errors import NotATicketExport

MULTI_SEP = "\x1f"
"""Separates the values of a multi-valued cell (repeated CSV columns, JSON lists)."""

MAIN_LISTS = ("tickets", "issues", "Ticket", "results", "records", "items", "data", "value")
"""Keys under which APIs return their list of tickets, in order of preference."""

_KEYED_PREFIX = {"custom_fields": "custom_field", "fields": "custom_field", "parameters": "parameter"}
_IDENT_KEYS = ("id", "code", "Name", "name", "key")
_PERSONAL_SIDELOADS = {"users"}  # names of people: never joined into tickets


@dataclass
class Unwrapped:
    """The ticket objects of a JSON document, what envelope held them, and what was resolved on the way."""

    records: list[Any]
    what: str
    notes: list[str] = field(default_factory=list)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_adf(value: dict[str, Any]) -> bool:
    return value.get("type") == "doc" and isinstance(value.get("content"), list)


def adf_text(node: Any) -> str:
    """The plain text of an Atlassian Document Format node (Jira Cloud descriptions), paragraphs on lines."""
    if isinstance(node, list):
        return "".join(adf_text(n) for n in node)
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    inner = adf_text(node.get("content", []))
    block = node.get("type") in {"paragraph", "heading", "listItem", "codeBlock", "blockquote", "tableRow"}
    return inner + "\n" if block else inner


def _keyed(items: list[Any]) -> tuple[str, str] | None:
    """(identifier key, value key) when every item is a custom-field entry like ``{"id": 1, "value": "x"}``."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    value_key = next((k for k in ("value", "Value") if all(k in i for i in items)), None)
    ident = next((k for k in _IDENT_KEYS if all(i.get(k) is not None for i in items)), None)
    return (ident, value_key) if ident and value_key else None


def _put(out: dict[str, str], name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        if _is_adf(value):
            out[name] = adf_text(value).strip()
            return
        for key, inner in value.items():
            _put(out, f"{name}.{key}", inner)
    elif isinstance(value, list):
        _put_list(out, name, value)
    else:
        out[name] = _scalar(value)


def _put_list(out: dict[str, str], name: str, items: list[Any]) -> None:
    keyed = _keyed(items)
    if keyed:
        ident, value_key = keyed
        head, _, last = name.rpartition(".")
        prefix = _KEYED_PREFIX.get(last, last)
        prefix = f"{head}.{prefix}" if head else prefix
        for item in items:
            _put(out, f"{prefix}:{item[ident]}", item[value_key])
        return
    gathered: dict[str, list[str]] = {}
    for item in items:
        flat: dict[str, str] = {}
        _put(flat, name, item)
        for key, text in flat.items():
            if text != "":
                gathered.setdefault(key, []).append(text)
    for key, texts in gathered.items():
        out[key] = MULTI_SEP.join(texts)


def flatten(record: dict[str, Any]) -> dict[str, str]:
    """One JSON ticket as flat string columns (see the module docstring)."""
    out: dict[str, str] = {}
    for key, value in record.items():
        _put(out, str(key), value)
    return out


def join_sideloads(records: list[Any], sideloads: dict[str, list[Any]]) -> tuple[list[Any], list[str]]:
    """``group_id`` -> ``group`` name (and so on) from side-loaded lists of ``{id, name}`` objects; never people."""
    notes: list[str] = []
    for plural, items in sideloads.items():
        if plural in _PERSONAL_SIDELOADS or not plural.endswith("s"):
            continue
        names = {str(i["id"]): str(i["name"]) for i in items if isinstance(i, dict) and "id" in i and "name" in i}
        singular = plural[:-1]
        key = f"{singular}_id"
        if not names or not any(isinstance(r, dict) and r.get(key) is not None for r in records):
            continue
        records = [
            {**r, singular: names.get(str(r[key]))}
            if isinstance(r, dict) and r.get(key) is not None and singular not in r
            else r
            for r in records
        ]
        notes.append(f"{singular} names for {key} from the side-loaded {plural}")
    return records, notes


def _generic(doc: Any, path: str) -> Unwrapped:
    if isinstance(doc, list):
        return Unwrapped(doc, "a JSON list")
    if not isinstance(doc, dict):
        raise NotATicketExport(f"{path}: a JSON export must be a list of tickets or an object holding one")
    lists = {str(k): v for k, v in doc.items() if isinstance(v, list)}
    main = next((k for k in MAIN_LISTS if k in lists), None)
    if main is None and len(lists) == 1:
        main = next(iter(lists))
    if main is None:
        raise NotATicketExport(
            f"{path}: a JSON object with no list of tickets (looked for {', '.join(MAIN_LISTS)}; "
            f"lists present: {', '.join(sorted(lists)) or 'none'})"
        )
    records, notes = join_sideloads(lists[main], {k: v for k, v in lists.items() if k != main})
    return Unwrapped(records, f'the "{main}" list', notes)


def unwrap(doc: Any, path: str) -> Unwrapped:
    """The ticket objects of a parsed JSON document: a vendor's envelope if one recognises it, else a list or
    the one (or the usual) list of an object."""
    from triage.data.vendors import UNWRAPPERS

    for unwrapper in UNWRAPPERS:
        found = unwrapper(doc)
        if found is not None:
            return found
    return _generic(doc, path)


def is_envelope(doc: Any) -> bool:
    """Whether a JSON Lines line is an API page (holding tickets) rather than one ticket."""
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("assets"), dict):
        return True
    return any(isinstance(doc.get(k), list) and k in ("tickets", "issues", "Ticket") for k in doc)


Unwrapper = Callable[[Any], Unwrapped | None]
"""A vendor's recogniser of its API envelope: the ticket objects, or None when the document is not its shape."""
