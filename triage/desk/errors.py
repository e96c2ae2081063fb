"""Errors of the desk's pages; :class:`~triage.desk.render.DeskRoute` turns them into pages (or a redirect to
the login form), so the desk never touches the API's JSON error handlers."""

from __future__ import annotations


class DeskError(Exception):
    status = 400
    title = "Not possible"


class NotSignedIn(DeskError):
    """No valid session: the desk answers with the login form."""

    status = 303


class CsrfRefused(DeskError):
    status = 403
    title = "Form refused"

    def __init__(self) -> None:
        super().__init__(
            "This form was refused: it did not carry this session's security token (it may be from an old page, "
            "or from another site). Reload the page and try again."
        )


class Forbidden(DeskError):
    status = 403
    title = "Admins only"


class NotFound(DeskError):
    status = 404
    title = "Not found"
