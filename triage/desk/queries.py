"""The store's queries the desk uses, under the names the desk knew them by (they live in the store now)."""

from __future__ import annotations

from triage.store.agents import get_agent, set_disabled
from triage.store.numbers import Acceptance, DeskNumbers, desk_numbers
from triage.store.tickets import stored_labels

__all__ = ["Acceptance", "DeskNumbers", "desk_numbers", "get_agent", "set_disabled", "stored_labels"]
