"""Presets for the exports of ticketing systems, one module per system: its column names in each export form
(field names, display labels, JSON paths), the codes it writes, and how to unwrap its API's JSON envelope.

>>> from triage.data.vendors import PRESETS
>>> sorted(PRESETS)[:4]
['freshdesk', 'freshservice', 'generic', 'jira']
"""

from __future__ import annotations

from triage.data.mapping import ColumnMapping
from triage.data.records import Unwrapper
from triage.data.vendors import freshdesk, jira, jitbit, okdesk, otrs, servicenow, zammad, zendesk

PRESETS: dict[str, ColumnMapping] = {
    "generic": ColumnMapping(),
    "servicenow": servicenow.PRESET,
    "zendesk": zendesk.PRESET,
    "jira": jira.PRESET,
    "jitbit": jitbit.PRESET,
    "okdesk": okdesk.PRESET,
    "freshdesk": freshdesk.FRESHDESK,
    "freshservice": freshdesk.FRESHSERVICE,
    "otrs": otrs.PRESET,
    "znuny": otrs.PRESET.model_copy(update={"name": "znuny"}),
    "zammad": zammad.PRESET,
}
"""Preset name -> mapping; ``--mapping NAME`` picks one, a mapping file may extend one."""

UNWRAPPERS: tuple[Unwrapper, ...] = (jira.unwrap, zammad.unwrap)
"""Recognisers of API envelopes that need more than the generic unwrapping (tried in order)."""
