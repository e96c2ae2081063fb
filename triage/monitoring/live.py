"""Live quality as a running service keeps it: computed off the request path, at most once per ``max_age``
seconds, and read from memory by every scrape and page.

A scrape never waits for the database: it gets the last summary, and when that is older than ``max_age`` a
refresh starts in a background thread (one at a time). The cost of a scrape is thus the cost of writing out
a few hundred numbers, whatever the size of the store; the cost of the queries is paid once per ``max_age``,
or less often on a store so large that they take longer than a tenth of it (the queries then run at most a
tenth of the time: ``BUSY_SHARE``).

>>> live = LiveQuality(lambda: store, lambda: reference, max_age=60)  # doctest: +SKIP
>>> live.summary()  # the cached figures (None before the first refresh)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from triage.monitoring.reference import Reference

if TYPE_CHECKING:  # the queries (SQLAlchemy) are imported at the first refresh, when there is a store
    from triage.monitoring.quality import QualitySummary
    from triage.store import Store

logger = logging.getLogger(__name__)

StoreSource = Callable[[], "Store | None"]
ReferenceSource = Callable[[], Reference]
MAX_AGE = 60.0
BUSY_SHARE = 0.1  # the refreshes may keep the database busy this share of the time, at most


class LiveQuality:
    """The cached live-quality summary of a store (``store()`` None: nothing to measure, recording is off)."""

    def __init__(
        self,
        store: StoreSource,
        reference: ReferenceSource = Reference,
        *,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.reference, self.max_age, self.clock = store, reference, max_age, clock
        self.last_error: str | None = None  # the class of the last refresh's failure; None once one succeeds
        self._summary: QualitySummary | None = None
        self._at = self._tried = float("-inf")  # when the summary was computed; when a refresh last started
        self._running = threading.Lock()
        self._starting = threading.Lock()
        self._took = 0.0  # seconds the last refresh took
        self._closed = False

    @property
    def enabled(self) -> bool:
        return not self._closed and self.store() is not None

    def close(self) -> None:
        """No refresh from now on; waits for one running (its connection goes back before the store is
        disposed: one left to the garbage collector warned at some later moment)."""
        self._closed = True
        with self._running:
            pass

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """The service's lifespan part: :meth:`close` at shutdown (chained inside the store's)."""
        yield
        await asyncio.to_thread(self.close)

    @property
    def age(self) -> float | None:
        """Seconds since the cached summary was computed (None: none yet)."""
        return self.clock() - self._at if self._summary is not None else None

    def refresh(self) -> QualitySummary | None:
        """Compute the summary now (waiting for a refresh already running); None when there is no store or
        it failed (``last_error`` says why, the previous summary is kept)."""
        store = self.store()
        if store is None:
            return None
        from triage.monitoring.quality import compute_quality

        with self._running:
            if self._closed:  # checked holding the lock: close() waits for a refresh, or none starts after it
                return None
            self._tried = self.clock()
            try:
                summary = compute_quality(store, self.reference())
            except Exception as exc:  # the store is down or failing: keep serving the last figures
                cause = type(getattr(exc, "orig", None) or exc).__name__
                if self.last_error is None:
                    logger.warning("live quality not refreshed (%s): the last figures are kept", cause)
                self.last_error = cause
                return None
            self._summary, self._at, self.last_error = summary, self.clock(), None
            self._took = summary.seconds
            return summary

    @property
    def interval(self) -> float:
        """Seconds between refreshes: ``max_age``, longer when the queries take more than ``BUSY_SHARE`` of it."""
        return max(self.max_age, self._took / BUSY_SHARE)

    def summary(self, *, wait: bool = False) -> QualitySummary | None:
        """The cached summary; a stale one starts a background refresh. With ``wait``, a store that has no
        summary yet is measured now (a page can wait; a scrape should not)."""
        if self._summary is None and wait:
            return self.refresh() or self._summary
        with self._starting:  # two scrapes at once start one refresh
            due = self.clock() - max(self._at, self._tried) >= self.interval  # a failed try waits too
            if due and self.enabled and not self._running.locked():
                self._tried = self.clock()  # the next scrape, before the thread runs, does not start another
                threading.Thread(target=self._refresh_once, name="triage-live-quality", daemon=True).start()
        return self._summary

    def _refresh_once(self) -> None:
        if self._running.locked():  # another thread got there first
            return
        self.refresh()
