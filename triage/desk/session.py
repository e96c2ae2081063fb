"""Sessions of the desk: a signed cookie (itsdangerous) holding the agent's name, a CSRF token and the
tickets the agent skipped. Every visitor gets one (the login form needs its CSRF token too); logging in
replaces it with a new one, logging out clears it.

The cookie is HttpOnly, SameSite=Lax, and Secure when the request came over HTTPS (directly, or through a
proxy saying so in ``X-Forwarded-Proto``/``Forwarded``). A form is accepted only with the session's token
(compared in constant time); the token is never readable by another site."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "triage_desk"
MAX_AGE = 12 * 3600  # seconds a session lasts after it was signed in
MAX_SKIPPED_CHARS = 1500  # the skipped ids a cookie keeps (well inside the 4 KB a browser stores)


@dataclass(frozen=True, slots=True)
class Session:
    csrf: str
    agent: str | None = None
    login_at: float = 0.0
    skipped: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def anonymous(cls) -> Session:
        return cls(csrf=secrets.token_urlsafe(32))

    @classmethod
    def signed_in(cls, agent: str) -> Session:
        return cls(csrf=secrets.token_urlsafe(32), agent=agent, login_at=time.time())

    def skip(self, ticket_id: str) -> Session:
        """This session with ``ticket_id`` skipped (the oldest skips forgotten past the cookie's room)."""
        kept = [*[t for t in self.skipped if t != ticket_id], ticket_id]
        while len(kept) > 1 and sum(len(t) + 3 for t in kept) > MAX_SKIPPED_CHARS:
            kept.pop(0)
        return replace(self, skipped=tuple(kept))

    def csrf_ok(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.csrf.encode())


class SessionCodec:
    """Reads and writes the session cookie."""

    def __init__(self, secret: str, *, max_age: int = MAX_AGE) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="triage.desk.session")
        self.max_age = max_age

    def load(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data: dict[str, Any] = self.serializer.loads(raw, max_age=self.max_age)
            session = Session(
                csrf=str(data["c"]),
                agent=data.get("a"),
                login_at=float(data.get("t", 0.0)),
                skipped=tuple(str(t) for t in data.get("s", [])),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        if session.agent is not None and time.time() - session.login_at > self.max_age:
            return None
        return session

    def save(self, response: Response, session: Session, request: Request) -> None:
        data = {"c": session.csrf, "a": session.agent, "t": session.login_at, "s": list(session.skipped)}
        response.set_cookie(
            COOKIE,
            self.serializer.dumps(data),
            max_age=self.max_age,
            path="/review",
            httponly=True,
            samesite="lax",
            secure=is_https(request),
        )

    def clear(self, response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE, path="/review", httponly=True, samesite="lax", secure=is_https(request))


def is_https(request: Request) -> bool:
    """HTTPS here, or at a proxy in front saying so (a false claim only makes the cookie stricter)."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if forwarded == "https":
        return True
    return "proto=https" in request.headers.get("forwarded", "").lower().replace(" ", "")
