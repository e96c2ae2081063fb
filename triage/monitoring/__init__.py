"""Live quality: how the served model does on today's tickets, from the store's outcomes and reviews, as a
summary (:func:`compute_quality`), a cache a service keeps (:class:`LiveQuality`) and Prometheus metrics
(:class:`QualityCollector`). It reads the store and a bundle's manifest; it knows nothing of HTTP.

Each name is imported from its module at first use (PEP 562): the queries (:mod:`triage.monitoring.quality`,
SQLAlchemy) only when a store is there to measure.

>>> summary = compute_quality(Store.from_url("sqlite:///triage.db"), Reference.from_bundle_dir("models/default"))
... # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from triage.lazy import lazy_names

if TYPE_CHECKING:
    from triage.monitoring.collector import QualityCollector
    from triage.monitoring.live import LiveQuality
    from triage.monitoring.quality import WINDOWS, Counts, HeadQuality, QualitySummary, WindowQuality, compute_quality
    from triage.monitoring.reference import Reference, served_reference

_MODULES = {
    "collector": ("QualityCollector",),
    "live": ("LiveQuality",),
    "quality": ("WINDOWS", "Counts", "HeadQuality", "QualitySummary", "WindowQuality", "compute_quality"),
    "reference": ("Reference", "served_reference"),
}
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

__getattr__, __dir__ = lazy_names(__name__, _MODULES, __all__)
