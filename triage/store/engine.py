"""The store's engine: SQLite in WAL mode by default, PostgreSQL (psycopg 3, pooled) in production.

Every call that writes runs in :meth:`Store.write`, a transaction that on SQLite takes the write lock at its
start (``BEGIN IMMEDIATE``: one writer at a time, no lock upgrade that could fail half-way); reads run in
:meth:`Store.read`. Connections fail fast: a PostgreSQL server that does not answer within
``connect_timeout`` seconds is an error, not a hung request.

>>> store = Store.from_url("sqlite:///triage.db")  # doctest: +SKIP
>>> with store.write() as conn: ...  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from triage.errors import ConfigError
from triage.store.errors import StoreUnavailable

UNREACHABLE = (OperationalError, InterfaceError, PoolTimeout)
"""Failures of the connection rather than of a statement: they become :class:`StoreUnavailable`."""

_IMMEDIATE = "triage_immediate"
_BUSY_MS = "triage_busy_ms"
BUSY_TIMEOUT = 30.0  # seconds a SQLite transaction waits for the write lock, unless told otherwise


def make_engine(url: str, *, connect_timeout: float = 3.0, pool_size: int = 10, **kwargs: Any) -> Engine:
    """An engine for ``url``: SQLite gets WAL, foreign keys and a busy timeout on every connection; PostgreSQL
    a pool of pre-pinged connections (``pool_size``, and as many again as overflow) with a short connect
    timeout. ``postgresql://`` means psycopg 3, which prepares statements the pool's connections reuse."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"TRIAGE_DATABASE_URL is not a database URL ({exc})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _sqlite_events(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"TRIAGE_DATABASE_URL: {parsed.get_backend_name()} is not supported (sqlite or postgresql)")
    connect_args = {"connect_timeout": max(1, round(connect_timeout)), **kwargs.pop("connect_args", {})}
    return create_engine(
        parsed,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=connect_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        **kwargs,
    )


def _sqlite_events(engine: Engine) -> None:
    """pysqlite's own transaction handling is turned off so that each transaction starts with the BEGIN we
    choose (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(options.get(_BUSY_MS, BUSY_TIMEOUT * 1000))}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_IMMEDIATE) else "BEGIN")


class Store:
    """An engine and the two kinds of transaction the repositories use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.settle_hook: Callable[[str | None], None] | None = None  # set by a write-behind recorder

    def settle(self, ticket_id: str | None = None) -> None:
        """Wait until the recordings accepted but not yet written (of ``ticket_id``, or all accepted so far) are
        written (a write-behind recorder registers the wait here), so that a read finds a ticket just triaged."""
        if self.settle_hook is not None:
            self.settle_hook(ticket_id)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Store:
        return cls(make_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self, *, wait: float = BUSY_TIMEOUT) -> Iterator[Connection]:
        """A transaction that may write; committed at the end, rolled back on an exception. On SQLite it waits
        at most ``wait`` seconds for another writer to finish."""
        with self._reachable(), self.engine.connect() as conn:
            conn = conn.execution_options(**{_IMMEDIATE: True, _BUSY_MS: round(wait * 1000)})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._reachable(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except UNREACHABLE as exc:
            cause = type(getattr(exc, "orig", None) or exc).__name__
            raise StoreUnavailable(f"the store {self.where} failed: {cause}") from exc

    @property
    def where(self) -> str:
        """The URL without its password."""
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.where})"
