"""The served model: loaded in the app's lifespan, swapped atomically on reload.

Requests take a reference to the current :class:`Triager` once, so a reload never changes the model under a
request in flight; a bundle that fails verification or loading leaves the old model serving. After a swap the
freed heap is handed back to the system (:mod:`triage.api.memory`), so memory does not grow with reloads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from triage.api.memory import release_memory
from triage.api.paths import bundle_folder
from triage.decision import Triager
from triage.errors import BundleError, ModelNotReady, TriageError
from triage.models import load_bundle
from triage.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
INLINE_BUDGET_S = 0.005
"""A small ticket is answered on the event loop while its answers take this much CPU at most, on average."""
ALONE_BUDGET_S = 0.02
"""... and up to this much while it is the only request open in the worker: nothing waits for the loop then,
and the hop to a thread is saved; under load, answers this long overlap better in worker threads (ONNX Runtime
releases the GIL)."""


@dataclass
class AnswerTime:
    """How much CPU the answer to one small ticket takes (parse, clean, model, serialise): a moving average of
    the last answers' thread CPU time, so that the route answers on the event loop only while that is short
    (the hop to a worker thread costs more than a short answer) and hands a slow model to worker threads.

    CPU, not wall time: in worker threads under many concurrent requests an answer's wall time is mostly
    waiting for the GIL, so a wall-time average stayed above the budget for as long as the load lasted, and
    every answer took the hop that made it slow (one worker, IT bundle, 32 clients: 5.2 ms of CPU per request
    in threads against 2.9 ms answered on the loop)."""

    warm_up: int = 20  # answers measured (in worker threads) before any is answered on the loop
    average: float = 0.0
    samples: int = 0

    def short(self, budget: float = INLINE_BUDGET_S) -> bool:
        return self.samples >= self.warm_up and self.average <= budget

    def timed(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)``, its thread CPU time added to the average (from any thread: a lost update is
        harmless)."""
        started = time.thread_time()
        try:
            return work(*args)
        finally:
            seconds = time.thread_time() - started
            self.average = seconds if self.samples == 0 else 0.9 * self.average + 0.1 * seconds
            self.samples += 1


@dataclass
class ModelState:
    settings: Settings
    triager: Triager | None = None
    last_error: str | None = None
    """Why the last load failed, for the log and admins only (it may name server paths)."""
    loaded_at: datetime | None = None
    answer_time: AnswerTime = field(default_factory=AnswerTime)
    """Of the model loaded last (measured anew after each load)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> Triager:
        """The triager to use for one request; raises :class:`ModelNotReady` (without paths: /readyz is
        public) when none is loaded."""
        triager = self.triager
        if triager is None:
            if self.last_error is None:
                raise ModelNotReady("the model is still loading")
            raise ModelNotReady("the last load failed (the service log says why); SIGHUP or a reload retries")
        return triager

    def load(self, model_dir: str | Path | None = None) -> Triager:
        """Verify and load a bundle (default: the configured one), then swap it in. On failure the previous
        model keeps serving and a :class:`TriageError` is raised; anything a broken bundle makes the loader
        raise becomes a :class:`BundleError`."""
        source = model_dir if model_dir is not None else self.settings.model_dir
        path = Path(source)
        with self._lock:
            try:
                path = bundle_folder(source, self.settings)  # models:/NAME@ALIAS: resolved and downloaded now
                triager = Triager.from_settings(load_bundle(path), self.settings)
                triager.decide(["warm-up ticket"])  # first call initialises ONNX Runtime and sklearn paths
            except TriageError as exc:
                self.last_error = f"loading {path} failed: {exc}"
                raise
            except Exception as exc:  # a bundle must never crash the service or leave it half-swapped
                self.last_error = f"loading {path} failed: {type(exc).__name__}: {exc}"
                logger.debug("loading %r failed", str(path), exc_info=True)
                raise BundleError(f"{path}: cannot load the bundle ({type(exc).__name__}: {exc})") from None
            self.triager, self.last_error, self.loaded_at = triager, None, datetime.now(UTC)
            self.answer_time = AnswerTime()
        release_memory()  # the previous model is freed by now, unless a request in flight still holds it
        logger.info("serving model %s from %r", triager.version, str(path))
        return triager

    async def reload(self, model_dir: str | Path | None = None) -> Triager:
        """:meth:`load` in a worker thread."""
        return await run_in_threadpool(self.load, model_dir)
