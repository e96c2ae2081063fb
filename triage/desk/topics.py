"""The admin page's candidate categories: :func:`triage.topics.store_topics` with the served model's
encoder, computed at most once per ``TTL`` seconds per model and period (embedding a thousand tickets takes
seconds), never breaking the page: a failure is shown as a line, logged without ticket text."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from triage.store import Store, StoreUnavailable
from triage.topics import TopicReport, store_topics

logger = logging.getLogger(__name__)
TTL = 600.0
LIMIT = 1000  # the most recent candidate tickets read for the page (`triage topics` reads more)
MIN_SIZE = 5
_lock = threading.Lock()


@dataclass(frozen=True)
class TopicsPanel:
    report: TopicReport | None
    problem: str | None = None
    min_size: int = MIN_SIZE


def served_bundle(app: Any) -> Any:
    """The bundle of the model the service serves, or None (a desk without a loaded model)."""
    triager = getattr(getattr(app.state, "model", None), "triager", None)
    return getattr(triager, "bundle", None)


def candidate_categories(app: Any, store: Store, *, days: int) -> TopicsPanel:
    bundle = served_bundle(app)
    if bundle is None:
        return TopicsPanel(None, "No model is loaded: candidate categories are embedded by the served model.")
    cache: dict[tuple[str, int], tuple[float, TopicReport]] = app.state.__dict__.setdefault("desk_topics", {})
    key = (bundle.version, days)
    with _lock:  # one computation at a time; the others wait for its result
        hit = cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < TTL:
            return TopicsPanel(hit[1])
        try:
            report = store_topics(store, bundle, days=days, min_size=MIN_SIZE, limit=LIMIT)
        except StoreUnavailable:
            raise
        except Exception as exc:  # the rest of the admin page must still show
            logger.error("candidate categories failed: %s", type(exc).__name__)
            return TopicsPanel(None, f"Candidate categories could not be computed ({type(exc).__name__}).")
        cache[key] = (time.monotonic(), report)
    return TopicsPanel(report)
