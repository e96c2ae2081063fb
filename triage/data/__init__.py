"""Reading ticket exports into canonical tickets: formats, column mappings, cleaning, quality summary."""

from triage.data.cleaning import clean_text, ticket_text
from triage.data.loader import Tickets, load_tickets
from triage.data.mapping import HEADS, PRESETS, ColumnMapping, load_mapping, parse_label_options
from triage.data.quality import DataQualityReport

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
    "ticket_text",
]
