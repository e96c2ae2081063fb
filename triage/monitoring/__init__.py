"""Live quality: how the served model does on today's tickets, from the store's outcomes and reviews, as a
summary (:func:`compute_quality`), a cache a service keeps (:class:`LiveQuality`) and Prometheus metrics
(:class:`QualityCollector`). It reads the store and a bundle's manifest; it knows nothing of HTTP.

Each name is imported from its module at first use (PEP 562): the queries (:mod:`triage.monitoring.quality`,
SQLAlchemy) only when a store is there to measure.

>>> summary = compute_quality(Store.from_url("sqlite:///triage.db"), Reference.from_bundle_dir("models/default"))
... # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
_HOME = {name: module for module, names in _MODULES.items() for name in names}
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


def __getattr__(name: str) -> Any:
    """A public name, imported from its module at first use (and kept here)."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
