"""The queue's filters as query parameters (``?reason=low_confidence&head=priority&age=gt1d&q=vpn``): read into
the store's :class:`~triage.store.QueueFilter`, and carried from the queue to each ticket and back, so that
"next ticket" stays inside the agent's filter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlencode

from triage.store import QueueFilter

FIELDS = ("reason", "head", "category", "tier", "channel", "age", "q")
AGES: dict[str, tuple[str, dict[str, timedelta]]] = {
    "lt1h": ("received in the last hour", {"newer_than": timedelta(hours=1)}),
    "lt1d": ("received today (24 h)", {"newer_than": timedelta(days=1)}),
    "gt1d": ("waiting over a day", {"older_than": timedelta(days=1)}),
    "gt3d": ("waiting over 3 days", {"older_than": timedelta(days=3)}),
}
MAX_VALUE = 200


def chosen(params: Mapping[str, str]) -> dict[str, str]:
    """The filter parameters that are set (blank and unknown ones dropped, long ones cut)."""
    values = {name: str(params.get(name, "")).strip()[:MAX_VALUE] for name in FIELDS}
    if values["age"] not in AGES:
        values["age"] = ""
    return {name: value for name, value in values.items() if value}


def queue_filter(values: Mapping[str, str]) -> QueueFilter:
    age = AGES[values["age"]][1] if values.get("age") in AGES else {}
    return QueueFilter(
        reason=values.get("reason"),
        head=values.get("head"),
        category=values.get("category"),
        tier=values.get("tier"),
        channel=values.get("channel"),
        search=values.get("q"),
        **age,
    )


def query(values: Mapping[str, str], **changes: str | None) -> str:
    """The query string of ``values`` with ``changes`` (None removes a parameter); "" when nothing is set."""
    merged = {**values, **changes}
    kept = {k: v for k, v in merged.items() if v}
    return "?" + urlencode(kept) if kept else ""
