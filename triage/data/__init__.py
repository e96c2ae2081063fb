"""Reading ticket exports into canonical tickets: formats, column mappings, cleaning, quality summary.

Names are imported on first use, so the service (which needs only cleaning and mappings) does not load pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "clean_text": "triage.data.cleaning",
    "ticket_text": "triage.data.cleaning",
    "prepare_text": "triage.data.cleaning",
    "Tickets": "triage.data.loader",
    "load_tickets": "triage.data.loader",
    "HEADS": "triage.data.mapping",
    "PRESETS": "triage.data.vendors",
    "ColumnMapping": "triage.data.mapping",
    "load_mapping": "triage.data.mapping",
    "parse_label_options": "triage.data.mapping",
    "DataQualityReport": "triage.data.quality",
}

if TYPE_CHECKING:
    from triage.data.cleaning import clean_text, prepare_text, ticket_text
    from triage.data.loader import Tickets, load_tickets
    from triage.data.mapping import HEADS, ColumnMapping, load_mapping, parse_label_options
    from triage.data.quality import DataQualityReport
    from triage.data.vendors import PRESETS


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'triage.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = [
    "HEADS",
    "PRESETS",
    "ColumnMapping",
    "DataQualityReport",
    "Tickets",
    "clean_text",
    "load_mapping",
    "load_tickets",
    "parse_label_options",
    "prepare_text",
    "ticket_text",
]
