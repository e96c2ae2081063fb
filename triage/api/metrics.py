"""Prometheus metrics of the service, in a registry of the app's own (several apps can live in one test).

With several workers (``triage serve --workers N``), prometheus_client's multiprocess mode keeps each
worker's values in files of one folder, and :meth:`ServiceMetrics.exposition` reads them all: counters and
histograms are summed over the workers (also those that exited), the model-info gauge is the maximum over
the live ones. Collectors of other kinds registered in ``registry`` (say, figures read from the store) are
exposed as they are, once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from starlette.types import Scope

KNOWN_ROUTES = frozenset(
    {"/v1/triage", "/v1/triage/batch", "/v1/model", "/v1/admin/reload", "/healthz", "/readyz", "/metrics"}
)
LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServiceMetrics:
    def __init__(self, *, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "triage_request_duration_seconds",
            "Request latency by route.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "triage_decisions_total", "Ticket decisions by outcome.", ["outcome"], registry=self.registry
        )
        self.head_decisions = Counter(
            "triage_head_decisions_total",
            "Head suggestions by head and outcome (confident or not).",
            ["head", "outcome"],
            registry=self.registry,
        )
        self.reasons = Counter(
            "triage_review_reasons_total",
            "Reasons tickets were sent to review, by code (low_confidence, unfamiliar, priority_risk, tier_risk) "
            "and head; a rising unfamiliar rate says the tickets drift from the training data.",
            ["code", "head"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "triage_model_info",
            "The served model version (value 1; with several workers, 1 while any worker serves it).",
            ["version"],
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._version: str | None = None
        self.reloads = Counter(
            "triage_model_reloads_total", "Model reloads by result.", ["result"], registry=self.registry
        )
        self.record_misses = Counter(
            "triage_recording_misses_total",
            "Tickets answered but not recorded in the store (unreachable or failing; see /readyz).",
            registry=self.registry,
        )

        # the families above, which multiprocess mode keeps in files (collectors registered later are not)
        self._own = frozenset(family.name for family in self.registry.collect())

    def set_model(self, version: str) -> None:
        previous, self._version = self._version, version
        if previous is not None and previous != version:
            if self.multiprocess_dir is not None:
                self.model_info.labels(version=previous).set(0)  # what the other workers read: this one left it
            else:
                self.model_info.remove(previous)
        self.model_info.labels(version=version).set(1)

    def process_exits(self) -> None:
        """This worker stops: its live gauges (the model it served) no longer count; its counters do."""
        if self.multiprocess_dir is not None:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid(), str(self.multiprocess_dir))

    def exposition(self) -> CollectorRegistry:
        """The registry /metrics renders: this one, or with several workers, all workers' files beside the
        collectors of other kinds registered here."""
        if self.multiprocess_dir is None:
            return self.registry
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.multiprocess_dir))
        registry.register(_Others(self.registry, self._own))
        return registry

    def observe(self, scope: Scope, status: int, start: float) -> None:
        """One request's latency, by route (unknown paths pooled as ``other``), method and status."""
        path = scope.get("path", "")
        route = path if path in KNOWN_ROUTES else "other"
        self.latency.labels(route=route, method=scope.get("method", ""), status=str(status)).observe(
            time.perf_counter() - start
        )


class _Others:
    """The families of a registry other than the multiprocess-backed ones (those come from the files)."""

    def __init__(self, registry: CollectorRegistry, own: frozenset[str]) -> None:
        self.registry, self.own = registry, own

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            if family.name not in self.own:
                yield family
