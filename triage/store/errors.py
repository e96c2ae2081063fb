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
    """A review was refused because the ticket changed since the reviewer opened it (someone else reviewed it)
    or another agent holds its claim; nothing was overwritten. ``by`` and ``at`` say who and when."""

    def __init__(self, ticket_id: str, *, by: str | None, at: datetime | None, version: int, claimed: bool) -> None:
        self.ticket_id, self.by, self.at, self.version, self.claimed = ticket_id, by, at, version, claimed
        when = at.isoformat(timespec="seconds") if at else "an unknown time"
        what = f"claimed by {by} until {when}" if claimed else f"reviewed by {by or 'someone'} at {when}"
        super().__init__(f"ticket {ticket_id} was {what} (now version {version}); nothing was changed")
