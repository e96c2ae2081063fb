"""What the service does at start and on signals: load the model, reload on SIGHUP, drain on SIGTERM/SIGINT.

uvicorn's own SIGTERM/SIGINT handler is in place while the app starts (``signal.getsignal``); the one
installed here starts the grace period of :class:`~triage.api.drain.Drain` and then calls uvicorn's, which
stops accepting connections and waits for the running requests. Signals can only be handled on the main
thread: elsewhere (a test client) nothing is installed, and tests call :meth:`Lifecycle.hangup` and
``Drain.begin`` directly. With several workers (:mod:`triage.api.workers`), each follows the reloads the
others publish; with replicas on one database (:mod:`triage.api.replicas`), ``POST /v1/admin/reload`` reaches
every replica (a signal stays on its machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from threadpoolctl import threadpool_limits

from triage.api.drain import Drain
from triage.api.errors import ApiError
from triage.api.metrics import ServiceMetrics
from triage.api.paths import allowed_bundle_dir
from triage.api.replicas import Replicas
from triage.api.state import ModelState
from triage.api.workers import Workers, one_worker
from triage.errors import TriageError

logger = logging.getLogger(__name__)


class Lifecycle:
    def __init__(
        self,
        state: ModelState,
        metrics: ServiceMetrics,
        drain: Drain,
        *,
        load_model: bool,
        workers: Workers | None = None,
    ) -> None:
        self.state, self.metrics, self.drain, self.load_model = state, metrics, drain, load_model
        self.workers = workers or Workers(None)
        self.replicas = Replicas(self.workers.folder)  # bound to the store in the lifespan
        self.reloads: set[asyncio.Task[None]] = set()

    async def reload(self, model_dir: Path | None = None, *, publish: bool = True) -> None:
        """Reload a bundle (default: the configured one; SIGHUP, or another worker's reload); a failure is
        logged and the old model keeps serving. With ``publish``, the other workers follow."""
        try:
            triager = await self.state.reload(model_dir)
        except TriageError as exc:
            self.metrics.reloads.labels(result="failed").inc()
            logger.error("reload refused, the old model keeps serving: %r", str(exc))
            return
        self.metrics.set_model(triager.version)
        self.metrics.reloads.labels(result="ok").inc()
        if publish:
            await asyncio.to_thread(self.workers.publish_reload, model_dir)

    async def _follow(self, model_dir: Path | None) -> None:
        await self.reload(model_dir, publish=False)

    async def publish(self, model_dir: Path | None) -> None:
        """After a reload asked of this process (``POST /v1/admin/reload``): the other workers of this machine,
        then the other replicas, follow."""
        await asyncio.to_thread(self.workers.publish_reload, model_dir)
        try:
            await asyncio.to_thread(self.replicas.publish, model_dir)
        except Exception as exc:  # the store unreachable: this machine reloaded, the other replicas did not
            logger.error("reload not published to the other replicas (%s): reload them too", type(exc).__name__)

    async def _follow_replica(self, source: str | None) -> None:
        """Another replica's reload: a folder only inside this replica's models root (else refused here, the
        old model serving); then this machine's other workers follow, as after a local reload."""
        try:
            model_dir = None if source is None else allowed_bundle_dir(source, self.state.settings)
        except ApiError:
            self.metrics.reloads.labels(result="failed").inc()
            logger.error("reload from another replica refused: %r is outside TRIAGE_MODELS_ROOT here", source)
            return
        await self.reload(model_dir, publish=True)

    def hangup(self) -> None:
        task = asyncio.ensure_future(self.reload())
        self.reloads.add(task)  # keep a reference until it is done
        task.add_done_callback(self.reloads.discard)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        # One BLAS thread per call: requests are small and run in parallel threads already; multi-threaded
        # BLAS next to ONNX Runtime's own threads made each request several times slower (benchmarks/README).
        threadpool_limits(limits=1, user_api="blas")
        # The event loop answers health checks and reads requests while worker threads run the model: it must
        # get the GIL back within a millisecond, not after CPython's 5 ms default per busy thread (with four
        # long tickets in flight, /healthz p99 went from ~100 ms to under 50 ms; benchmarks/README.md).
        sys.setswitchinterval(0.001)
        # As many worker threads doing CPU work as there are cores: more only take turns for the GIL and the
        # cores, and each extra one delays the event loop further.
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(2, os.cpu_count() or 2)
        if app.state.settings.auth == "off":
            logger.warning("authentication is OFF (TRIAGE_AUTH=off, --no-auth): every route is open; a local demo only")
        self.replicas.bind(lambda: _store_of(app), every=app.state.settings.replica_poll)
        await asyncio.to_thread(self.replicas.baseline)  # before loading: a reload published meanwhile is seen
        if self.load_model:
            await self._load_at_start()
        loop = asyncio.get_running_loop()
        self.drain.bind(loop)
        restore = [
            _install(loop, signal.SIGHUP, self.hangup, chain=False),
            *(_install(loop, sig, self.drain.begin, chain=True) for sig in (signal.SIGTERM, signal.SIGINT)),
        ]
        follower = asyncio.create_task(self.workers.follow(self._follow)) if self.workers.shared else None
        replicas = (  # one worker per machine reads the store's reloads, its siblings follow it
            asyncio.create_task(one_worker(self.workers.folder, "replicas", self._follow_replicas))
            if self.replicas.shared
            else None
        )
        try:
            yield
        finally:
            for task in (follower, replicas):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            for undo in restore:
                undo()
            self.drain.close()
            self.metrics.process_exits()

    async def _follow_replicas(self) -> None:
        await self.replicas.follow(self._follow_replica)

    async def _load_at_start(self) -> None:
        try:
            triager = await self.state.reload(self.workers.start_dir)
        except TriageError as exc:
            logger.error(
                "starting without a model (/readyz answers 503; SIGHUP or POST /v1/admin/reload retries): %r", str(exc)
            )
            return
        self.metrics.set_model(triager.version)


def _store_of(app: Any) -> Any:
    """The store the app records into (None while recording is off)."""
    recording = getattr(app.state, "recording", None)
    return getattr(recording, "store", None)


def _install(
    loop: asyncio.AbstractEventLoop, sig: signal.Signals, action: Callable[[], None], *, chain: bool
) -> Callable[[], None]:
    """Run ``action`` on ``sig`` (then the handler in place before, with ``chain``); returns the undo. Chained
    signals are left alone when no Python handler (uvicorn's) is there to hand over to."""
    previous = signal.getsignal(sig)
    if chain and not callable(previous):
        return _nothing

    def handle() -> None:
        action()
        if chain and callable(previous):
            previous(sig, None)

    try:
        loop.add_signal_handler(sig, handle)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        return _nothing

    def undo() -> None:
        loop.remove_signal_handler(sig)
        with contextlib.suppress(TypeError, ValueError):
            signal.signal(sig, previous)

    return undo


def _nothing() -> None:
    return None
