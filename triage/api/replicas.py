"""Replicas of the service on one database (several ``triage serve`` on different machines, behind a load
balancer): a reload published by any of them reaches all.

``POST /v1/admin/reload`` adds a generation to the store's ``model_reloads`` (:mod:`triage.store.reloads`);
on each machine one worker reads the latest generation every ``TRIAGE_REPLICA_POLL`` seconds (a primary-key
lookup), loads a newer one published by another machine and hands it to its sibling workers through the
workers' reload file (:mod:`triage.api.workers`), as a local reload. A bundle that fails to load keeps the old
model. A bundle folder must lie inside this replica's ``TRIAGE_MODELS_ROOT`` (else the reload is refused here);
a ``models:/`` URI is resolved by each replica. Without a store (``TRIAGE_RECORD=off``) replicas are
independent: reload each one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.aio import to_thread_finished

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported when recording is on
    from triage.store import Store

logger = logging.getLogger(__name__)
POLL_S = 3.0


def replica_id(folder: Path | None) -> str:
    """This machine's service run: the host and the workers' shared folder (unique per run), or the process
    and a random part when it runs alone (two apps in one process are two replicas). Workers of one run share
    it: a reload they published is not followed twice."""
    run = folder.name if folder is not None else f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return f"{socket.gethostname()[:150]}:{run}"


class Replicas:
    """This process's view of the other replicas, through the store (None: no store, nothing shared)."""

    def __init__(self, folder: Path | None, *, every: float = POLL_S) -> None:
        self.origin = replica_id(folder)
        self.every = every
        self.store_of: Callable[[], Store | None] = lambda: None
        self.seen: int | None = None
        """The latest generation this replica knows of (None: not read yet; the first read sets it)."""
        self._failing = False

    def bind(self, store_of: Callable[[], Store | None], *, every: float | None = None) -> None:
        self.store_of = store_of
        if every is not None:
            self.every = every

    @property
    def shared(self) -> bool:
        return self.store_of() is not None

    def baseline(self) -> None:
        """Remember the latest generation (at start: what was published before is not reloaded again; a
        replica starts with its configured model)."""
        store = self.store_of()
        if store is None:
            return
        from triage.store.reloads import latest

        try:
            found = latest(store)
        except Exception as exc:  # unreachable at start: the first read that succeeds sets it
            logger.warning("cannot read the replicas' reloads yet (%s)", type(exc).__name__)
            return
        self.seen = found.generation if found is not None else 0

    def publish(self, source: str | Path | None) -> int | None:
        """Tell the other replicas to load ``source`` (None: their configured model); returns the generation,
        or None without a store."""
        store = self.store_of()
        if store is None:
            return None
        from triage.store.reloads import publish

        generation = publish(store, None if source is None else str(source), origin=self.origin)
        self.seen = max(self.seen or 0, generation)
        return generation

    def pending(self) -> Any:
        """A reload another replica published since the last look (a
        :class:`~triage.store.reloads.PublishedReload`), else None."""
        store = self.store_of()
        if store is None:
            return None
        from triage.store.reloads import latest

        found = latest(store)
        generation = found.generation if found is not None else 0
        if self.seen is None or generation <= self.seen:
            self.seen = max(self.seen or 0, generation)
            return None
        self.seen = generation
        return None if found is None or found.origin == self.origin else found

    async def follow(self, reload: Callable[[str | None], Awaitable[Any]]) -> None:
        """Load every reload another replica publishes, until cancelled. An unreachable store is logged once
        and read again at the next poll."""
        while True:
            await asyncio.sleep(self.every)
            try:
                found = await to_thread_finished(self.pending)
            except Exception as exc:
                if not self._failing:
                    logger.error("cannot read the replicas' reloads (%s); trying again", type(exc).__name__)
                self._failing = True
                continue
            self._failing = False
            if found is not None:
                logger.info("reloading: generation %d published by replica %s", found.generation, found.origin)
                await reload(found.source)
