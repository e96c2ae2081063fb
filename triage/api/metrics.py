"""Prometheus metrics of the service, in a registry of the app's own (several apps can live in one test)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import Scope

KNOWN_ROUTES = frozenset(
    {"/v1/triage", "/v1/triage/batch", "/v1/model", "/v1/admin/reload", "/healthz", "/readyz", "/metrics"}
)
LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServiceMetrics:
    def __init__(self) -> None:
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
            "triage_model_info", "The served model version (value 1).", ["version"], registry=self.registry
        )
        self.reloads = Counter(
            "triage_model_reloads_total", "Model reloads by result.", ["result"], registry=self.registry
        )
        self.record_misses = Counter(
            "triage_recording_misses_total",
            "Tickets answered but not recorded in the store (unreachable or failing; see /readyz).",
            registry=self.registry,
        )

    def set_model(self, version: str) -> None:
        self.model_info.clear()
        self.model_info.labels(version=version).set(1)

    def observe(self, scope: Scope, status: int, start: float) -> None:
        """One request's latency, by route (unknown paths pooled as ``other``), method and status."""
        path = scope.get("path", "")
        route = path if path in KNOWN_ROUTES else "other"
        self.latency.labels(route=route, method=scope.get("method", ""), status=str(status)).observe(
            time.perf_counter() - start
        )
