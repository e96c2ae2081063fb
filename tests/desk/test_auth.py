"""Signing in and out: the session cookie's flags, CSRF on every form, the pause after failed sign-ins,
accounts disabled mid-session, and the session key kept in a 0600 file."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.desk.conftest import PASSWORDS, csrf_of, desk_settings, sign_in
from triage.desk import install_desk
from triage.desk.queries import set_disabled
from triage.desk.secret import session_secret
from triage.desk.throttle import LoginThrottle
from triage.errors import ConfigError
from triage.store import Store, get_ticket

Clients = Callable[[str | None], TestClient]


def test_pages_need_a_session_and_sign_in_returns_to_the_page_asked_for(client_of: Clients) -> None:
    client = client_of(None)
    answer = client.get("/review?reason=unfamiliar")
    assert answer.url.path == "/review/login" and "Sign in to the review desk" in answer.text
    token = csrf_of(answer.text)
    assert 'value="/review?reason=unfamiliar"' in answer.text  # where to go next
    signed = client.post(
        "/review/login",
        data={"csrf": token, "name": "bob", "password": PASSWORDS["bob"], "next": "/review?reason=unfamiliar"},
    )
    assert signed.url.path == "/review" and signed.url.query == b"reason=unfamiliar"
    assert "bob" in signed.text and "Admin</a>" not in signed.text
    assert csrf_of(signed.text) != token  # a new session (and token) at sign-in


def test_sign_in_never_redirects_to_another_site(client_of: Clients) -> None:
    for target in ("https://evil.example/review", "//evil.example/review", "/review\\..\\x", "/reviewer"):
        client = client_of(None)
        token = csrf_of(client.get("/review/login").text)
        answer = client.post(
            "/review/login",
            data={"csrf": token, "name": "bob", "password": PASSWORDS["bob"], "next": target},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/review"


def test_session_cookie_is_signed_httponly_samesite_and_secure_behind_https(client_of: Clients) -> None:
    client = client_of(None)
    plain = client.get("/review/login")
    cookie = plain.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/review" in cookie
    assert "secure" not in cookie
    proxied = client_of(None).get("/review/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in proxied.headers["set-cookie"].lower()
    # a tampered cookie is no session
    value = client.cookies.get("triage_desk")
    assert value
    client.cookies.set("triage_desk", value[:-3] + "AAA", path="/review")
    assert client.get("/review").url.path == "/review/login"


def test_wrong_password_and_logout(client_of: Clients) -> None:
    client = client_of(None)
    token = csrf_of(client.get("/review/login").text)
    wrong = client.post("/review/login", data={"csrf": token, "name": "ann", "password": "not her password"})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    sign_in(client, "ann")
    queue = client.get("/review")
    out = client.post("/review/logout", data={"csrf": csrf_of(queue.text)})
    assert out.url.path == "/review/login" and "Signed out." in out.text
    assert client.get("/review").url.path == "/review/login"


def test_forms_without_the_sessions_token_are_refused(client_of: Clients, store: Store, first_id: str) -> None:
    ann = client_of("ann")
    # a form from another site: no token, a made-up one, or the token of another session
    other_token = client_of("bob").desk_csrf  # type: ignore[attr-defined]
    for data in ({}, {"csrf": "made-up"}, {"csrf": other_token}):
        for path in ("/review/next", "/review/logout", f"/review/t/{first_id}", "/review/admin/agents"):
            answer = ann.post(path, data={**data, "action": "not_a_ticket", "version": "1", "name": "eve"})
            assert answer.status_code == 403 and "did not carry this session" in answer.text, path
    assert get_ticket(store, first_id).reviewed_at is None
    assert ann.get("/review").url.path == "/review"  # still signed in: the logout was refused too
    anonymous = client_of(None)
    answer = anonymous.post("/review/login", data={"name": "ann", "password": PASSWORDS["ann"]})
    assert answer.status_code == 403


def test_repeated_failures_pause_sign_in_per_name_and_per_address(desk_app: FastAPI, client_of: Clients) -> None:
    now = [1000.0]
    desk_app.state.desk.throttle = LoginThrottle(free=5, first_wait=2.0, clock=lambda: now[0])
    client = client_of(None)
    token = csrf_of(client.get("/review/login").text)

    def attempt(name: str, password: str) -> int:
        return client.post("/review/login", data={"csrf": token, "name": name, "password": password}).status_code

    assert [attempt("ann", f"guess number {i}") for i in range(5)] == [401] * 5
    paused = client.post("/review/login", data={"csrf": token, "name": "ann", "password": PASSWORDS["ann"]})
    assert paused.status_code == 429 and "Too many failed sign-ins. Wait 2 seconds" in paused.text
    assert attempt("bob", PASSWORDS["bob"]) == 429  # same address: paused for every name
    now[0] += 2.5
    assert attempt("ann", "one more guess!") == 401  # the sixth failure doubles the wait
    now[0] += 3.0
    assert attempt("ann", PASSWORDS["ann"]) == 429
    now[0] += 1.5
    assert attempt("ann", PASSWORDS["ann"]) == 200  # after the wait the right password works, and resets


def test_throttle_waits_grow_and_are_per_name() -> None:
    now = [0.0]
    throttle = LoginThrottle(free=3, first_wait=1.0, longest=5.0, clock=lambda: now[0])
    waits = [throttle.failed("ann", f"10.0.0.{i}") for i in range(6)]  # a name tried from many addresses
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 5.0]
    assert throttle.wait("ANN ", "10.9.9.9") == 5.0 and throttle.wait("bob", "10.9.9.9") == 0.0
    throttle.succeeded("ann", "10.0.0.1")
    assert throttle.wait("ann", "10.9.9.9") == 0.0


def test_a_disabled_account_is_signed_out_at_its_next_request(client_of: Clients, store: Store) -> None:
    bob = client_of("bob")
    assert bob.get("/review").url.path == "/review"
    assert set_disabled(store, "bob", True, actor="ann")
    assert bob.get("/review").url.path == "/review/login"
    token = csrf_of(bob.get("/review/login").text)
    again = bob.post("/review/login", data={"csrf": token, "name": "bob", "password": PASSWORDS["bob"]})
    assert again.status_code == 401


def test_session_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    settings = desk_settings(tmp_path, desk_secret=None)
    first = session_secret(settings)
    path = tmp_path / "keys" / "desk-session.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 64
    assert session_secret(settings) == first
    assert session_secret(desk_settings(tmp_path, desk_secret=SecretStr("x" * 20))) == "x" * 20
    with pytest.raises(ConfigError, match="at least 16"):
        session_secret(desk_settings(tmp_path, desk_secret=SecretStr("short")))


def test_without_a_usable_session_key_the_desk_says_what_to_set(store: Store, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the key folder should be")
    app = FastAPI()  # the app is still built: the API it belongs to keeps serving
    install_desk(
        app, desk_settings(tmp_path, desk_secret=None, signing_key=blocked / "signing.pem"), store=lambda: store
    )
    answer = TestClient(app).get("/review/login")
    assert answer.status_code == 503 and "set TRIAGE_DESK_SECRET" in answer.text
