"""The store as the service uses it: opened in the lifespan, the schema checked before the first request,
text purged once a day, and a watch that tells /readyz when the store cannot be reached.

An unmigrated (or newer) schema stops the start with the fix (``triage db upgrade``); an unreachable store
does not: tickets are answered with ``"recorded": false``, /readyz says ``degraded`` and why, and recording
resumes when the store is back. ``TRIAGE_RECORD=off`` opens no store at all.

Recording is write-behind (:class:`~triage.store.writer.QueuedRecorder`): a request hands its tickets to an
in-process queue and answers; a thread writes them in batches. ``"recorded": true`` means accepted for
recording; the queue is written before the service stops, and a read of a ticket still queued waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from triage.aio import to_thread_finished
from triage.api.metrics import ServiceMetrics
from triage.api.workers import one_worker
from triage.settings import Settings
from triage.store.errors import StoreUnavailable

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported when recording starts: not with TRIAGE_RECORD=off
    from triage.store import Store
    from triage.store.writer import QueuedRecorder

logger = logging.getLogger(__name__)
Lifespan = Callable[[Any], contextlib.AbstractAsyncContextManager[None]]


class Recording:
    """The store and recorder of one app; both None while recording is off or before the start."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics, *, watch_every: float = 5.0) -> None:
        self.settings, self.metrics, self.watch_every = settings, metrics, watch_every
        self.store: Store | None = None
        self.recorder: QueuedRecorder | None = None
        self.unreachable: str | None = None  # why the last check failed; None while the store answers
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def problem(self) -> str | None:
        """Why the store is not usable now (for /readyz), or None."""
        if self.recorder is None:
            return None
        if self.unreachable:
            return self.unreachable
        if self.recorder.down:
            return f"recording failed ({self.recorder.last_error}); tickets are answered unrecorded"
        return None

    async def start(self) -> None:
        if not self.settings.record:
            logger.info("recording is off (TRIAGE_RECORD=off): tickets are answered, not stored")
            return
        from triage.store import Store, check_schema
        from triage.store.writer import QueuedRecorder

        store = Store.from_url(self.settings.database_url)
        try:
            await asyncio.to_thread(check_schema, store.engine)  # SchemaNotReady stops the start
        except StoreUnavailable as exc:
            self.unreachable = f"store unreachable: {exc}"
            logger.error("%s; starting without recording until it answers", self.unreachable)
        except BaseException:
            store.dispose()
            raise
        self.store = store
        gate = lambda: self.unreachable is None  # noqa: E731 (not while the watch finds the store unusable)
        self.recorder = QueuedRecorder(store, on_miss=self.metrics.record_misses.inc, gate=gate).start()
        self._tasks = [asyncio.create_task(self._watch(store))]

    def start_duties(self) -> None:
        """The text purge and the webhook deliveries, started once the service is ready (they are not needed
        to answer, and a purge at start competed with loading the model for the cores)."""
        store = self.store
        if store is None:
            return
        from triage.store.purge import purge_daily  # imported when recording (webhooks: httpx) is on
        from triage.webhooks import WebhookSender, deliver_forever

        retention = self.settings.text_retention_days
        folder = self.settings.workers_dir  # with several workers, one of them purges and delivers
        purge = lambda: purge_daily(store, retention_days=retention)  # noqa: E731
        self._tasks.append(asyncio.create_task(one_worker(folder, "purge", purge)))
        if self.settings.webhook_url:  # reviews go back to the ticketing system from the outbox
            secret = self.settings.webhook_secret.get_secret_value() if self.settings.webhook_secret else None
            sender = WebhookSender(store, self.settings.webhook_url, secret)
            self._tasks.append(asyncio.create_task(one_worker(folder, "webhooks", lambda: deliver_forever(sender))))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.recorder is not None:
            await asyncio.to_thread(self.recorder.close)  # writes what is queued
        if self.store is not None:
            self.store.dispose()

    async def _watch(self, store: Store) -> None:
        """Ping the store every ``watch_every`` seconds (and check its schema once it answers again)."""
        from triage.store import check_schema

        while True:
            await asyncio.sleep(self.watch_every)
            try:
                await to_thread_finished(check_schema, store.engine)
            except Exception as exc:  # unreachable, or migrated away under the running service
                if self.unreachable is None:
                    logger.error("store unusable (%s); tickets are answered unrecorded", type(exc).__name__)
                self.unreachable = f"store unusable: {exc}"
            else:
                self.unreachable = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    @contextlib.asynccontextmanager
    async def duties(self, app: Any) -> AsyncIterator[None]:
        """The lifespan that starts :meth:`start_duties`: chained last, after the model is loaded."""
        self.start_duties()
        yield


def chain(*lifespans: Lifespan) -> Lifespan:
    """One lifespan running ``lifespans`` in order (and ending them in reverse)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for each in lifespans:
                await stack.enter_async_context(each(app))
            yield

    return lifespan
