"""Running the service: one uvicorn process, or a supervisor and ``workers`` processes sharing one socket
(``triage serve`` starts one per core by default; :mod:`triage.api.workers` says what they share).

uvicorn's supervisor restarts every worker on SIGHUP, which would leave a worker without a model when the new
bundle fails to load; here SIGHUP publishes a reload that each worker applies itself, keeping its old model
on failure, as a single process does.

Each worker accepts on a socket of its own (:func:`listening_sockets`, :func:`claim_socket`). On one shared
socket, the worker that wakes first accepts every connection waiting in one go (uvloop, like asyncio, accepts
until the queue is empty), so 32 keep-alive clients connecting at once were all served by one of two workers
while the other idled: two workers answered 0.95-1.05 times as many requests as one (benchmarks/README.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import multiprocessing
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn import _subprocess
from uvicorn.supervisors.multiprocess import Multiprocess

from triage.api.workers import publish_reload

logger = logging.getLogger(__name__)
APP = "triage.api.main:create_app"
_WORKER_STARTED = _subprocess.subprocess_started  # uvicorn's worker entry point, wrapped in run()


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, with SIGHUP as a reload the workers follow, and the live metrics of a
    worker that died (replaced by a new one) dropped."""

    def __init__(self, config: uvicorn.Config, sockets: list[Any], folder: Path) -> None:
        super().__init__(config, sockets)
        self.folder = folder

    def handle_hup(self) -> None:
        logger.info("Received SIGHUP: every worker reloads the configured bundle")
        publish_reload(self.folder, None, origin=os.getpid())

    def keep_subprocess_alive(self) -> None:
        before = {p.pid for p in self.processes}
        super().keep_subprocess_alive()
        gone = before - {p.pid for p in self.processes}
        if gone:
            from prometheus_client.multiprocess import mark_process_dead

            for pid in gone:
                if pid is not None:
                    mark_process_dead(pid, str(self.folder / "metrics"))


@contextlib.contextmanager
def shared_folder(workers: int) -> Iterator[Path | None]:
    """With several workers, a fresh folder for them (removed at the end), named through
    ``TRIAGE_WORKERS_DIR`` and ``PROMETHEUS_MULTIPROC_DIR``: set before anything imports prometheus_client,
    which chooses its storage once, at import."""
    if workers <= 1:
        yield None
        return
    from triage.features.encoder import THREADS_ENV

    folder = Path(tempfile.mkdtemp(prefix="triage-workers-"))
    (folder / "metrics").mkdir()
    os.environ["TRIAGE_WORKERS_DIR"] = str(folder)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder / "metrics")
    # the cores shared out: each worker's sentence encoder runs on its share (unless the operator said)
    os.environ.setdefault(THREADS_ENV, str(max(1, (os.cpu_count() or 1) // workers)))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def preloaded(record: bool) -> tuple[str, ...]:
    """What every worker imports to load a bundle, and, when it records, to open the store (SQLAlchemy and
    the store's tables, the write-behind recorder, live quality): imported once, before the workers fork."""
    serving = ("triage.api.main", "skops.io", "lightgbm")
    store = ("triage.store.engine", "triage.store.schema", "triage.store.writer", "triage.monitoring.quality")
    return serving + store if record else serving


def listening_sockets(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """``count`` sockets listening on one address with ``SO_REUSEPORT``: the kernel spreads new connections
    over them by a hash of each client's address and port, so each worker, accepting on its own socket, gets
    its share. Without ``SO_REUSEPORT`` (not on Linux), one socket that every worker shares. A port that is
    taken ends the start with uvicorn's error and exit code."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reuse_port = hasattr(socket, "SO_REUSEPORT")
    sockets: list[socket.socket] = []
    try:
        for _ in range(count if reuse_port else 1):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]  # port 0: the others join the port the first was given
            sock.listen(backlog)
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        logger.error(exc)
        raise SystemExit(uvicorn.config.STARTUP_FAILURE) from exc
    return sockets


def claim_socket(sockets: list[socket.socket], folder: Path) -> list[socket.socket]:
    """In a worker: the first of ``sockets`` that no living worker serves, claimed with a lock file in the
    run's folder that the system releases when the worker dies (its replacement takes the same socket, and
    the connections queued on it). All of them when every socket is claimed (more workers than sockets)."""
    for i, sock in enumerate(sockets):
        held = os.open(folder / f"socket-{i}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(held)
            continue
        return [sock]  # ``held`` stays open, and locked, for the worker's life
    return sockets


def _on_own_socket(folder: Path, started: Callable[..., None], **kwargs: Any) -> None:
    """uvicorn's worker entry point, serving the socket this worker claims instead of every socket."""
    started(**{**kwargs, "sockets": claim_socket(kwargs["sockets"], folder)})


def run(
    *, host: str, port: int, workers: int, folder: Path | None, shutdown_grace: float, log_level: str = "info"
) -> None:
    """Serve until stopped: in this process, or with ``folder`` (:func:`shared_folder`) in ``workers``
    processes forked from this one once it has imported the service (as gunicorn's ``--preload``): each
    worker then only loads the bundle, instead of importing everything again in a new interpreter."""
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        # uvicorn cancels what still runs after this; the app answers such requests 503 a little earlier
        "timeout_graceful_shutdown": int(shutdown_grace + 0.999) + 2,
    }
    if folder is None:
        uvicorn.run(APP, **options)
        return
    import importlib

    from triage.settings import get_settings

    for module in preloaded(get_settings().record):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    # uvicorn starts workers as new interpreters ("spawn"), which import everything again; forked from this
    # process they start with it imported. Nothing here holds a thread, a session or a connection yet.
    _subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]
    _subprocess.subprocess_started = functools.partial(_on_own_socket, folder, _WORKER_STARTED)
    config = uvicorn.Config(APP, workers=workers, **options)
    Supervisor(config, listening_sockets(host, port, workers, config.backlog), folder).run()
