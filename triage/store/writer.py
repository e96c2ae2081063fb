"""Write-behind recording: the request hands its tickets to a bounded in-process queue and returns; a
background thread writes what has queued up in batches, one transaction each (a few tenths of a millisecond per
ticket instead of a transaction per request on the hot path).

``record_many`` returning True means *accepted for recording*: written within milliseconds, or, while the
database is briefly unusable, kept in memory and written when it answers again. It returns False (and counts
the misses) when the queue is full, while the recorder is paused after a failure, or while ``gate`` says the
store is unusable; the ticketing system re-sends those. Only what is still queued when the process ends
without :meth:`close` (a kill) is lost; :meth:`close` writes it first, and what cannot be written in its time
is counted as missed and logged (ids' count only, never text). A read of a ticket whose recording is queued
waits for it (:meth:`Store.settle`), so ``GET /v1/tickets/{id}`` right after ``POST /v1/triage`` finds it, and a
read of the queue waits for what was accepted before it (a batch's write at most).

>>> recorder = QueuedRecorder(Store.from_url("sqlite:///triage.db")).start()  # doctest: +SKIP
>>> recorder.record(TicketRecord(id="INC1", subject="VPN down", body=""), decision)  # doctest: +SKIP
True
>>> recorder.close()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from triage.decision import Decision
from triage.store.engine import UNREACHABLE, Store
from triage.store.errors import StoreUnavailable
from triage.store.recorder import Recorder
from triage.store.records import TicketRecord
from triage.store.types import utcnow

log = logging.getLogger(__name__)
Item = tuple[TicketRecord, Decision, datetime]


class QueuedRecorder(Recorder):
    """A :class:`Recorder` whose :meth:`record_many` queues (at most ``capacity`` tickets) and returns at once;
    a thread writes batches of at most ``batch`` tickets. Call :meth:`start` before and :meth:`close` after."""

    def __init__(
        self,
        store: Store,
        *,
        capacity: int = 10_000,
        batch: int = 500,
        linger: float = 0.05,
        settle_timeout: float = 5.0,
        gate: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(store, **kwargs)
        self.capacity, self.batch, self.settle_timeout, self.gate = capacity, batch, settle_timeout, gate
        self.linger = linger  # a batch waits this long for company: one transaction for many tickets
        self._hurry = 0  # readers waiting for a write: the batch goes now
        self._queue: deque[Item] = deque()
        self._pending: Counter[str] = Counter()  # ids queued or being written
        self._accepted = self._done = 0  # tickets accepted, and written or given up (in order: a FIFO)
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def start(self) -> QueuedRecorder:
        self._thread = threading.Thread(target=self._run, name="triage-recorder", daemon=True)
        self._thread.start()
        self.store.settle_hook = self.settle
        return self

    @property
    def queued(self) -> int:
        """Tickets accepted and not yet written (or given up)."""
        return self._accepted - self._done

    def record_many(
        self, items: Sequence[tuple[TicketRecord, Decision]], *, received_at: datetime | None = None
    ) -> bool:
        """Accept ``items`` for recording (True) or refuse them all (False, each counted as a miss)."""
        if not items:
            return True
        now = received_at or utcnow()
        with self._cond:
            full = self.queued + len(items) > self.capacity
            if self._closing or full or self.down or (self.gate is not None and not self.gate()):
                refused = True
            else:
                refused = False
                self._queue.extend((ticket, decision, now) for ticket, decision in items)
                self._pending.update(ticket.id for ticket, _ in items)
                self._accepted += len(items)
                self._cond.notify_all()
        if refused:
            self._missed(len(items))
        return not refused

    def settle(self, ticket_id: str | None = None) -> None:
        """Wait (at most ``settle_timeout`` seconds) until the queued recording of ``ticket_id`` is written, or
        (None) everything accepted until now: what arrives meanwhile is not waited for."""
        if ticket_id is None:
            target = self._accepted
            if self._done >= target:  # the common case: no lock, no wait
                return
            self._wait_for(lambda: self._done >= target, self.settle_timeout)
            return
        if not self._pending.get(ticket_id):
            return
        self._wait_for(lambda: not self._pending.get(ticket_id), self.settle_timeout)

    def _wait_for(self, written: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``written`` holds, telling the writer not to linger meanwhile."""
        with self._cond:
            self._hurry += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(written, timeout=timeout)
            finally:
                self._hurry -= 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything accepted so far is written (or given up); False on timeout."""
        return self._wait_for(lambda: not self._pending, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (for at most ``timeout`` seconds), then stop; what is left is counted missed."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._cond:
            left = len(self._queue)
            self._queue.clear()
            self._pending.clear()
            self._done = self._accepted
            self._cond.notify_all()
        if left:
            self._missed(left)
            log.error("recording stopped with %d tickets unwritten (counted as misses)", left)
        if self.store.settle_hook == self.settle:
            self.store.settle_hook = None

    def _take(self) -> list[Item] | None:
        """The next batch, waiting for one (and then up to ``linger`` seconds for a full one, unless a reader
        waits for it or the recorder closes); None when closing with nothing left."""
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closing)
            if self.linger > 0:
                self._cond.wait_for(
                    lambda: len(self._queue) >= self.batch or self._closing or self._hurry > 0, timeout=self.linger
                )
            if not self._queue:
                return None
            return [self._queue.popleft() for _ in range(min(self.batch, len(self._queue)))]

    def _run(self) -> None:
        while (items := self._take()) is not None:
            while not self._write(items):  # the database failed: keep the batch, try again after the pause
                if self._closing or not isinstance(self.last_exception, (StoreUnavailable, *UNREACHABLE)):
                    super()._missed(len(items))  # a statement the database refuses is not retried
                    log.error("recording of %d tickets failed (%s): counted as misses", len(items), self.last_error)
                    break
                time.sleep(max(self._down_until - time.monotonic(), 0.05))
            with self._cond:
                self._pending.subtract(ticket.id for ticket, _, _ in items)
                for ticket, _, _ in items:
                    if self._pending[ticket.id] <= 0:
                        del self._pending[ticket.id]
                self._done += len(items)
                self._cond.notify_all()

    def _missed(self, n: int) -> None:  # a batch's misses are counted by _run, not by each failed attempt
        if threading.current_thread() is not self._thread:
            super()._missed(n)
