"""What the desk keeps per app: settings, the session codec, the login throttle, templates, and where its
store and labels come from."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape

from triage.desk.secret import session_secret
from triage.desk.session import SessionCodec
from triage.desk.throttle import LoginThrottle
from triage.settings import Settings
from triage.store import Store, check_schema

StoreSource = Callable[[], Store]
LabelSource = Callable[[], Mapping[str, Sequence[str]]]


def templates() -> Environment:
    env = Environment(loader=PackageLoader("triage.desk", "templates"), autoescape=select_autoescape(default=True))
    env.trim_blocks = env.lstrip_blocks = True
    env.filters["tid"] = lambda ticket_id: quote(str(ticket_id), safe="")  # a ticket id as one path segment
    return env


@dataclass
class Desk:
    """The desk of one app. The session key is read at the first page, so that a service whose key file
    cannot be made still serves its API (and the desk says what to set)."""

    settings: Settings
    store: StoreSource
    labels: LabelSource
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    env: Environment = field(default_factory=templates)

    @cached_property
    def codec(self) -> SessionCodec:
        return SessionCodec(session_secret(self.settings))


def app_store(app: Any, settings: Settings) -> StoreSource:
    """The store the service records into (``app.state.recording.store``); while recording is off, a store
    of the desk's own on ``TRIAGE_DATABASE_URL``, its schema checked once."""
    own: list[Store] = []
    lock = threading.Lock()

    def source() -> Store:
        recorded = getattr(getattr(app.state, "recording", None), "store", None)
        if isinstance(recorded, Store):
            return recorded
        with lock:
            if not own:
                store = Store.from_url(settings.database_url)
                check_schema(store.engine)
                own.append(store)
        return own[0]

    return source


def served_labels(app: Any, store: StoreSource, *, ttl: float = 60.0) -> LabelSource:
    """Per head, the labels of the served model (``app.state.model``) and every label stored so far, read at
    most once per ``ttl`` seconds."""
    from triage.desk.queries import stored_labels

    cache: dict[str, Any] = {"at": -ttl, "labels": {}}

    def source() -> Mapping[str, Sequence[str]]:
        if time.monotonic() - cache["at"] < ttl:
            return cache["labels"]
        found = stored_labels(store())
        triager = getattr(getattr(app.state, "model", None), "triager", None)
        manifest = getattr(getattr(triager, "bundle", None), "manifest", None)
        for head, info in (getattr(manifest, "heads", None) or {}).items():
            found.setdefault(head, set()).update(info.labels)
        cache["labels"] = {head: sorted(labels) for head, labels in found.items()}
        cache["at"] = time.monotonic()
        return cache["labels"]

    return source
