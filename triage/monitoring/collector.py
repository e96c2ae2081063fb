"""Live quality as Prometheus metrics: a collector that writes out the cached summary at each scrape (it never
queries the store itself), the heads' precision targets, the review queue and whether the store answers.

Series are named ``triage_live_*`` with the labels ``window`` (``7d``, ``30d``), ``head`` and, for the
per-class families, ``class``; a rate whose denominator is zero is left out rather than exported as 0.

>>> registry.register(QualityCollector(live, reference, store_problem=lambda: None))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from triage.monitoring.live import LiveQuality, ReferenceSource

if TYPE_CHECKING:  # annotations only: the queries (SQLAlchemy) are not needed to write out a summary
    from triage.monitoring.quality import Counts, QualitySummary

# name suffix, help, the value from Counts (None: no series)
_RATES: list[tuple[str, str, Callable[[Counts], float | int | None]]] = [
    ("precision", "Realised precision of auto-routed tickets (truth: outcomes, else reviews).", lambda c: c.precision),
    ("precision_lower", "Lower bound of the 95% Wilson interval of the realised precision.", lambda c: _lo(c)),
    ("precision_upper", "Upper bound of the 95% Wilson interval of the realised precision.", lambda c: _hi(c)),
    ("judged_tickets", "Auto-routed tickets whose true label is known (the interval's n).", lambda c: c.judged),
    ("acceptance_ratio", "Share of reviews that kept the suggestion (not-a-ticket left out).", lambda c: c.acceptance),
    ("reviewed_tickets", "Reviews counted in the acceptance ratio.", lambda c: c.reviewed),
    ("deferred_ratio", "Share of tickets sent to review.", lambda c: c.deferred_share),
    ("unfamiliar_ratio", "Share of tickets unlike the training data (novelty check).", lambda c: c.unfamiliar_share),
    ("tickets", "Tickets received in the window.", lambda c: c.tickets),
]
_CLASS_ONLY = {"tickets", "deferred_ratio", "unfamiliar_ratio"}  # per head, these are the window's own


def _lo(counts: Counts) -> float | None:
    interval = counts.interval
    return interval[0] if interval else None


def _hi(counts: Counts) -> float | None:
    interval = counts.interval
    return interval[1] if interval else None


class QualityCollector(Collector):
    """Reads ``live`` (cached), ``reference`` (targets) and ``store_problem`` (why the store is unusable, or
    None) at each scrape."""

    def __init__(
        self, live: LiveQuality, reference: ReferenceSource, *, store_problem: Callable[[], str | None]
    ) -> None:
        self.live, self.reference, self.store_problem = live, reference, store_problem
        self._built: tuple[QualitySummary | None, list[Metric]] = (None, [])  # the families of the last summary

    def describe(self) -> list[Metric]:  # registering must not collect (nothing is cached yet)
        return []

    def collect(self) -> Iterator[Metric]:
        target = GaugeMetricFamily(
            "triage_head_precision_target", "Precision the head's thresholds were chosen for.", labels=["head"]
        )
        for head, value in sorted(self.reference().targets.items()):
            target.add_metric([head], value)
        yield target
        if not self.live.enabled:
            return
        up = self.store_problem() is None and self.live.last_error is None
        yield GaugeMetricFamily("triage_store_up", "1 while the store answers, 0 while it does not.", value=int(up))
        summary = self.live.summary()
        if summary is None:
            return
        yield GaugeMetricFamily(
            "triage_live_quality_age_seconds", "Age of the live-quality figures.", value=self.live.age or 0.0
        )
        yield from self._families(summary)

    def _families(self, summary: QualitySummary) -> list[Metric]:
        """The families of ``summary``, built once per summary (a scrape then only writes them out)."""
        built, families = self._built
        if built is not summary:
            queue = GaugeMetricFamily(
                "triage_review_queue_size", "Deferred tickets waiting for review.", value=summary.queue_size
            )
            families = [queue, *_window_families(summary), *_head_families(summary)]
            self._built = (summary, families)
        return families


def _window_families(summary: QualitySummary) -> Iterator[Metric]:
    tickets = GaugeMetricFamily("triage_live_tickets", "Tickets received in the window.", labels=["window"])
    coverage = GaugeMetricFamily(
        "triage_live_auto_routed_ratio", "Share of tickets auto-routed (coverage).", labels=["window"]
    )
    unfamiliar = GaugeMetricFamily(
        "triage_live_unfamiliar_ratio", "Share of tickets unlike the training data.", labels=["window"]
    )
    reasons = GaugeMetricFamily(
        "triage_live_deferral_reason_ratio",
        "Share of tickets sent to review with this reason (head empty: a reason of the whole ticket).",
        labels=["window", "reason", "head"],
    )
    for name, window in summary.windows.items():
        tickets.add_metric([name], window.tickets)
        _add(coverage, [name], window.coverage)
        _add(unfamiliar, [name], window.unfamiliar_share)
        for key, n in sorted(window.reasons.items()):
            code, _, head = key.partition(":")
            _add(reasons, [name, code, head], n / window.tickets if window.tickets else None)
    yield from (tickets, coverage, unfamiliar, reasons)


def _head_families(summary: QualitySummary) -> Iterator[Metric]:
    per_head = {
        s: GaugeMetricFamily(f"triage_live_{s}", h, labels=["head", "window"])
        for s, h, _ in _RATES
        if s not in _CLASS_ONLY
    }
    per_class = {
        s: GaugeMetricFamily(f"triage_live_class_{s}", h + " Per suggested class.", labels=["head", "class", "window"])
        for s, h, _ in _RATES
    }
    drift = GaugeMetricFamily(
        "triage_live_label_drift",
        "Total-variation distance between the suggested labels' shares and the training data's (0 same, 1 disjoint).",
        labels=["head", "window"],
    )
    for name, window in summary.windows.items():
        for head, quality in window.heads.items():
            total = quality.total
            for suffix, _, value in _RATES:
                if suffix in per_head:
                    _add(per_head[suffix], [head, name], value(total))
                for label, counts in quality.classes.items():
                    _add(per_class[suffix], [head, label, name], value(counts))
            _add(drift, [head, name], quality.drift)
    yield from per_head.values()
    yield from per_class.values()
    yield drift


def _add(family: GaugeMetricFamily, labels: list[str], value: Any) -> None:
    if value is not None:
        family.add_metric(labels, float(value))
