"""Decisions as table columns: what ``triage predict`` writes and the MLflow pyfunc returns, one row per ticket.

>>> decision_columns(triager, ["VPN down. since 9am"])["decision"]  # doctest: +SKIP
['auto_route']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from triage.data.cleaning import prepare_parts
from triage.decision import decide_tickets
from triage.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from triage.decision import Triager

TICKET_FIELDS = ("subject", "body")


def decision_columns(triager: Triager, texts: Sequence[str], batch: int = 1024) -> dict[str, list[Any]]:
    """The service's decision for each text as columns: per head the label, its confidence, the threshold it was held
    to and the prediction set (``|``-joined), then the outcome, the reason codes and the reasons."""
    rows: dict[str, list[Any]] = {}
    for start in range(0, len(texts), batch):
        for decision in decide_tickets(triager, texts[start : start + batch]):
            for head, suggestion in decision.heads.items():
                rows.setdefault(head, []).append(suggestion.label)
                rows.setdefault(f"{head}_confidence", []).append(suggestion.confidence)
                rows.setdefault(f"{head}_threshold", []).append(suggestion.threshold)
                rows.setdefault(f"{head}_prediction_set", []).append("|".join(suggestion.prediction_set))
            rows.setdefault("decision", []).append(decision.outcome.value)
            codes = [f"{r.code}:{r.head}" if r.head else r.code for r in decision.reasons]
            rows.setdefault("reason_codes", []).append(";".join(codes))
            rows.setdefault("reasons", []).append("; ".join(r.message for r in decision.reasons))
    return rows


def _field(frame: pd.DataFrame, name: str) -> list[str | None]:
    if name not in frame.columns:
        return [None] * len(frame)
    values: list[str | None] = []
    for i, value in enumerate(frame[name].tolist()):
        if value is None or (isinstance(value, float) and value != value):  # None or NaN: an absent field
            values.append(None)
        elif isinstance(value, str):
            values.append(value)
        else:
            raise DataError(f"row {i}: column {name!r} holds a {type(value).__name__}, not text")
    return values


def ticket_texts(frame: pd.DataFrame, *, max_chars: int) -> list[str]:
    """The texts the API would give the model for tickets with ``subject`` and/or ``body`` columns (cleaned,
    joined and cut to ``max_chars`` as the service does)."""
    if not set(TICKET_FIELDS) & set(frame.columns):
        got = f"; got {list(frame.columns)[:10]}" if len(frame.columns) else ""
        raise DataError(f"the tickets need a 'subject' or 'body' column, as the API's tickets{got}")
    subjects, bodies = _field(frame, "subject"), _field(frame, "body")
    texts = []
    for i, (subject, body) in enumerate(zip(subjects, bodies, strict=True)):
        if not (subject or "").strip() and not (body or "").strip():
            raise DataError(f"row {i}: subject and body are both empty or blank: a ticket needs text")
        texts.append(prepare_parts(subject or "", body or "", max_chars=max_chars).text)
    return texts
