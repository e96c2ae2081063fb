"""Keeping the review queue on the ticket rows, in the transactions that change it.

A ticket waits for review while its latest decision is ``needs_review`` and nobody reviewed it: the recorder
sets ``tickets.waiting`` (with the sort key ``queue_rank`` and the suggested category and tier), and writes the
ticket's reason keys into ``queue_reasons``; a review clears both. Every change of the keys changes
``queue_counts`` by the same amounts in the same transaction, so the counts are exact without counting.

Keys of a waiting ticket: ``(code, head)`` of each reason, ``(code, '*')`` and ``('*', head)`` for the
filters by reason only or head only, and ``('*', '*')``: every waiting ticket (the queue's size).

Locks, on PostgreSQL: a transaction locks a ticket row before its keys, and the counts last, in sorted
order; no two transactions wait on each other in a circle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert
from sqlalchemy.dialects import postgresql, sqlite

from triage.store.models import queue_counts, queue_reasons

ANY = "*"
TOTAL = (ANY, ANY)
Key = tuple[str, str]


def reason_keys(reasons: Iterable[tuple[str, str]]) -> set[Key]:
    """The keys of a waiting ticket with ``reasons`` as ``(code, head or '')`` pairs."""
    keys = {TOTAL}
    for code, head in reasons:
        keys |= {(code, head), (code, ANY)}
        if head:
            keys.add((ANY, head))
    return keys


def filter_key(reason: str | None, head: str | None) -> Key | None:
    """The key of a filter by reason and/or head (None: no such filter)."""
    if reason is None and head is None:
        return None
    return (reason or ANY, head if head is not None else ANY)


def leave(conn: Connection, ticket_ids: Sequence[str]) -> Counter[Key]:
    """Take ``ticket_ids`` out of the queue's keys; the counts to subtract."""
    if not ticket_ids:
        return Counter()
    rows = conn.execute(
        delete(queue_reasons)
        .where(queue_reasons.c.ticket_id.in_(list(ticket_ids)))
        .returning(queue_reasons.c.code, queue_reasons.c.head)
    )
    return Counter((code, head) for code, head in rows)


def join(
    conn: Connection, waiting: Iterable[tuple[str, int, datetime]], reasons: Mapping[str, Iterable[tuple[str, str]]]
) -> Counter[Key]:
    """Put the waiting tickets ``(id, queue_rank, received_at)`` in the queue under the keys of their
    ``reasons``; the counts to add."""
    rows: list[dict[str, Any]] = []
    for ticket_id, rank, received_at in waiting:
        for code, head in sorted(reason_keys(reasons.get(ticket_id, ()))):
            rows.append({"ticket_id": ticket_id, "code": code, "head": head, "queue_rank": rank,
                         "received_at": received_at})  # fmt: skip
    if rows:
        conn.execute(insert(queue_reasons), rows)
    return Counter((r["code"], r["head"]) for r in rows)


def count(conn: Connection, added: Counter[Key], removed: Counter[Key]) -> None:
    """Change the counts by ``added - removed`` (sorted keys: concurrent transactions lock them in one order)."""
    delta = {key: added.get(key, 0) - removed.get(key, 0) for key in added.keys() | removed.keys()}
    rows = [{"code": c, "head": h, "n": n} for (c, h), n in sorted(delta.items()) if n]
    if not rows:
        return
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(queue_counts)
    upsert = ins.on_conflict_do_update(
        index_elements=[queue_counts.c.code, queue_counts.c.head], set_={"n": queue_counts.c.n + ins.excluded.n}
    )
    conn.execute(upsert, rows)
