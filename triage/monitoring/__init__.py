"""Live quality: how the served model does on today's tickets, from the store's outcomes and reviews, as a
summary (:func:`compute_quality`), a cache a service keeps (:class:`LiveQuality`) and Prometheus metrics
(:class:`QualityCollector`). It reads the store and a bundle's manifest; it knows nothing of HTTP.

>>> summary = compute_quality(Store.from_url("sqlite:///triage.db"), Reference.from_bundle_dir("models/default"))
... # doctest: +SKIP
"""

from __future__ import annotations

from triage.monitoring.collector import QualityCollector
from triage.monitoring.live import LiveQuality
from triage.monitoring.quality import WINDOWS, Counts, HeadQuality, QualitySummary, WindowQuality, compute_quality
from triage.monitoring.reference import Reference, served_reference

__all__ = [
    "WINDOWS",
    "Counts",
    "HeadQuality",
    "LiveQuality",
    "QualityCollector",
    "QualitySummary",
    "Reference",
    "WindowQuality",
    "compute_quality",
    "served_reference",
]
