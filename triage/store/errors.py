"""Errors of the store: each says what is wrong and what to do, and never holds ticket text."""

from __future__ import annotations

from datetime import datetime

from triage.errors import ConfigError, TriageError


class SchemaNotReady(ConfigError):
    """The database has no triage schema, or an older or newer one than this code: run ``triage db upgrade``."""


class StoreUnavailable(TriageError):
    """The database cannot be reached (or refused the statement): the service answers without recording."""


class TicketNotFound(TriageError, KeyError):
    """No stored ticket has this id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "ticket not found"


class ReviewConflict(TriageError):
    """A review was refused because the ticket changed since the reviewer opened it (someone else reviewed it,
    or the ticketing system resolved it: ``resolved``) or another agent holds its claim; nothing was
    overwritten. ``by`` and ``at`` say who and when (for ``resolved``: the outcome's source and resolution time)."""

    def __init__(
        self,
        ticket_id: str,
        *,
        by: str | None,
        at: datetime | None,
        version: int,
        claimed: bool,
        resolved: bool = False,
    ) -> None:
        self.ticket_id, self.by, self.at, self.version, self.claimed = ticket_id, by, at, version, claimed
        self.resolved = resolved
        when = at.isoformat(timespec="seconds") if at else "an unknown time"
        what = f"claimed by {by} until {when}" if claimed else f"reviewed by {by or 'someone'} at {when}"
        if resolved:
            what = f"resolved in the ticketing system (outcome from {by or 'an unknown source'} at {when})"
        super().__init__(f"ticket {ticket_id} was {what} (now version {version}); nothing was changed")


class SearchTooSlow(TriageError):
    """A search of the queue's text ran past its time limit and was stopped; narrow it with a filter."""
