"""Several worker processes behind one port (``triage serve --workers N``): what they share, through files in
one folder that ``serve`` makes for the run (``TRIAGE_WORKERS_DIR``; none with a single worker).

- Reloads: the worker that reloads (``POST /v1/admin/reload``, or a SIGHUP to it) publishes a new generation
  in ``reload.json``; the supervisor does the same on SIGHUP. Every worker checks the file's modification
  time a few times a second (one ``stat``, off the request path) and loads the published bundle itself; a
  bundle that fails keeps that worker's old model, as in a single process.
- Metrics: prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, under the same folder), so
  /metrics from any worker sums every worker (:mod:`triage.api.metrics`).
- Duties that must run once (the daily purge, webhook deliveries): the worker holding the duty's lock runs
  it; another takes over if it dies (:func:`one_worker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

logger = logging.getLogger(__name__)

RELOAD_FILE = "reload.json"
POLL_S = 0.2
DUTY_RETRY_S = 5.0


class Workers:
    """This process's view of the worker group (``folder`` None: a single process, nothing shared)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.generation = 0
        self.start_dir: Path | None = None
        """The bundle to load at start: the last one published (a worker that replaces one that died)."""
        self._seen_mtime: int | None = None
        if folder is not None:
            self._seen_mtime = _mtime(folder / RELOAD_FILE)
            current = read_generation(folder)
            if current is not None:
                self.generation, self.start_dir = current

    @property
    def shared(self) -> bool:
        return self.folder is not None

    def publish_reload(self, model_dir: Path | None) -> None:
        """Tell the other workers to load ``model_dir`` (None: the configured bundle), which this one has."""
        if self.folder is None:
            return
        self.generation = publish_reload(self.folder, model_dir, origin=os.getpid())
        self._seen_mtime = _mtime(self.folder / RELOAD_FILE)

    def pending(self) -> tuple[int, Path | None] | None:
        """A reload published by another process since the last look: (generation, bundle), else None."""
        if self.folder is None:
            return None
        path = self.folder / RELOAD_FILE
        mtime = _mtime(path)
        if mtime == self._seen_mtime:
            return None
        self._seen_mtime = mtime
        found = read_generation(self.folder, with_origin=True)
        if found is None or found[0] <= self.generation:
            return None
        generation, model_dir, origin = found
        self.generation = generation
        return None if origin == os.getpid() else (generation, model_dir)

    async def follow(self, reload: Callable[[Path | None], Awaitable[Any]]) -> None:
        """Load every reload another process publishes, until cancelled."""
        while True:
            await asyncio.sleep(POLL_S)
            try:
                found = self.pending()
            except OSError as exc:  # the folder went away under a running service: nothing to follow
                logger.error("cannot read the workers' reload file: %s", exc)
                continue
            if found is not None:
                logger.info("reloading: generation %d published by another worker", found[0])
                await reload(found[1])


def publish_reload(folder: Path, model_dir: Path | None, *, origin: int) -> int:
    """Write the next generation (atomically, under a lock against two reloads at once); returns it."""
    with FileLock(str(folder / "reload.lock")):
        current = read_generation(folder)
        generation = (current[0] if current else 0) + 1
        tmp = folder / f".{RELOAD_FILE}.{origin}"
        payload = {"generation": generation, "model_dir": None if model_dir is None else str(model_dir)}
        tmp.write_text(json.dumps({**payload, "origin": origin}))
        os.replace(tmp, folder / RELOAD_FILE)
    return generation


def read_generation(folder: Path, *, with_origin: bool = False) -> Any:
    """(generation, model_dir[, origin]) from the reload file, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((folder / RELOAD_FILE).read_text())
        generation, model_dir, origin = int(data["generation"]), data["model_dir"], int(data["origin"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    found = (generation, None if model_dir is None else Path(model_dir))
    return (*found, origin) if with_origin else found


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


async def one_worker(folder: Path | None, name: str, duty: Callable[[], Awaitable[None]]) -> None:
    """Run ``duty()`` in one worker of the group only: the one holding ``duty-<name>.lock`` (an advisory lock
    the system releases when its holder dies; the others retry every few seconds and one takes over). Without
    a group folder, it just runs."""
    if folder is None:
        await duty()
        return
    handle = (folder / f"duty-{name}.lock").open("a")
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(DUTY_RETRY_S)
        await duty()
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
