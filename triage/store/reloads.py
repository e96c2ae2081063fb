"""Reloads every replica follows: ``POST /v1/admin/reload`` on any replica adds a row to ``model_reloads``
(a new generation, the bundle folder or ``models:/`` URI asked for, or NULL for each replica's configured
model); each replica reads the latest row every few seconds (one primary-key lookup) and loads what a newer
generation asks for.

>>> publish(store, "models:/triage@champion", origin="host-a:run-1")  # doctest: +SKIP
7
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from triage.store.engine import Store
from triage.store.models import model_reloads
from triage.store.types import utcnow


@dataclass(frozen=True, slots=True)
class PublishedReload:
    generation: int
    source: str | None
    """A bundle folder or ``models:/`` URI; None: each replica's configured model."""
    requested_at: datetime
    origin: str


def publish(store: Store, source: str | None, *, origin: str, now: datetime | None = None) -> int:
    """Ask every replica to load ``source``; returns the new generation (the database numbers them, so two
    replicas publishing at once get two generations, and the later one wins everywhere)."""
    values = {"source": source, "requested_at": now or utcnow(), "origin": origin[:200]}
    with store.write() as conn:
        return int(
            conn.execute(insert(model_reloads).values(values).returning(model_reloads.c.generation)).scalar_one()
        )


def latest(store: Store) -> PublishedReload | None:
    """The last published reload, or None when none was ever published."""
    query = select(model_reloads).order_by(model_reloads.c.generation.desc()).limit(1)
    with store.read() as conn:
        row = conn.execute(query).first()
    return None if row is None else PublishedReload(**row._mapping)
