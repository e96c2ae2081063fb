"""The desk in a real browser (Debian's Chromium, headless, driven by Playwright): an agent signs in and works
three tickets with the keyboard alone, two agents meet on one ticket, the session ends, a forged form is
refused. Skipped only when Chromium is absent and CI is not set; with CI=true it must run."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from tests.desk.conftest import PASSWORDS
from triage.store import Provenance, Store, get_ticket, release

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Chromium not installed (make test installs it)"
)


@pytest.fixture
def live_desk(desk_app: FastAPI) -> Iterator[str]:
    """The desk served by uvicorn on a free local port, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(desk_app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "CI needs Debian's chromium: `make test` installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


def open_page(browser: Any, base: str, problems: list[str]) -> Any:
    page = browser.new_context(viewport={"width": 1366, "height": 800}).new_page()
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: None if r.url.startswith(base) else problems.append(f"outside request {r.url}"))
    return page


def sign_in_by_keyboard(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/review")
    assert page.url.startswith(f"{base}/review/login")
    # the name field has the focus (autofocus): wait for it, a loaded machine may type before it is set
    page.wait_for_function("document.activeElement && document.activeElement.name === 'name'")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS[name])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base}/review", (page.url, page.locator("main").inner_text()[:300])


def current_id(page: Any) -> str:
    return str(page.locator("dd.id").inner_text())


def press_and_wait(page: Any, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def active_head(page: Any) -> str:
    return str(page.locator("fieldset.head.active").get_attribute("data-head"))


def test_an_agent_works_three_tickets_with_the_keyboard(
    browser: Any, live_desk: str, store: Store, model_labels: dict[str, list[str]]
) -> None:
    problems: list[str] = []
    page = open_page(browser, live_desk, problems)
    sign_in_by_keyboard(page, live_desk, "ann")
    before = page.locator("td.id a").all_inner_texts()
    press_and_wait(page, "n")

    # 1: accept every suggestion with Enter
    first = current_id(page)
    assert first == before[0]
    press_and_wait(page, "Enter")
    assert page.locator(".saved").inner_text() == f"Saved {first}."

    # 2: the second choice of the active head with a digit, then Enter
    second = current_id(page)
    head = active_head(page)
    picked = page.locator("fieldset.head.active input[type=radio]").nth(1).get_attribute("value")
    page.keyboard.press("2")
    assert page.locator("#accept").inner_text().startswith("Save corrections")
    press_and_wait(page, "Enter")

    # 3: another label of the active head by type-ahead
    third = current_id(page)
    head3 = active_head(page)
    shown = set(page.locator("fieldset.head.active input[type=radio]").evaluate_all("rs => rs.map(r => r.value)"))
    typed = next((label for label in model_labels[head3] if label not in shown), model_labels[head3][-1])
    page.keyboard.press("/")
    page.keyboard.type(typed[:-1])
    assert page.locator("fieldset.head.active ul.options li").count() >= 1
    while page.locator("fieldset.head.active li[aria-selected=true]").inner_text() != typed:
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # picks the label, moves on
    assert page.locator(f"fieldset[data-head={head3}] input[type=radio]:checked").get_attribute("value") == typed
    press_and_wait(page, "Enter")

    # they left the queue; a reload shows them stored
    press_and_wait(page, "Escape")
    page.reload()
    listed = page.locator("td.id a").all_inner_texts()
    assert not {first, second, third} & set(listed) and len(listed) == len(before) - 3
    reviews = {ticket_id: get_ticket(store, ticket_id) for ticket_id in (first, second, third)}
    assert all(view.reviewed_by == "ann" for view in reviews.values())
    assert reviews[first].review.provenance == Provenance.ACCEPTED  # type: ignore[union-attr]
    assert reviews[second].review.labels[head] == picked  # type: ignore[union-attr]
    assert reviews[third].review.labels[head3] == typed  # type: ignore[union-attr]
    page.goto(f"{live_desk}/review/t/{second}")
    assert "Reviewed by ann" in page.locator(".alert").inner_text()
    assert problems == []


def test_two_agents_on_one_ticket_sign_out_and_a_forged_form(browser: Any, live_desk: str, store: Store) -> None:
    problems: list[str] = []
    ann, bob = open_page(browser, live_desk, problems), open_page(browser, live_desk, problems)
    sign_in_by_keyboard(ann, live_desk, "ann")
    sign_in_by_keyboard(bob, live_desk, "bob")
    press_and_wait(ann, "n")
    ticket = current_id(ann)
    bob.goto(f"{live_desk}/review/t/{ticket}")  # ann holds it: bob sees who, and gets no form
    assert bob.locator("#held").inner_text().startswith("ann is working on this ticket")
    assert bob.locator("#review").count() == 0

    release(store, ticket, "ann")  # ann's claim runs out while her page stays open
    bob.reload()
    press_and_wait(bob, "x")  # bob takes it and marks it as not a ticket: he wins
    press_and_wait(ann, "Enter")  # ann's stale form is refused with who and when
    alert = ann.locator("#conflict").inner_text()
    assert alert.startswith("Already reviewed by bob at ") and "nothing was overwritten" in alert
    stored = get_ticket(store, ticket)
    assert stored.review is not None and stored.review.agent == "bob"
    assert stored.review.provenance == Provenance.NOT_A_TICKET

    # a form without this session's token (as from another site) is refused
    ann.goto(f"{live_desk}/review")
    with ann.expect_navigation():
        ann.evaluate(
            """() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/review/next';
                       const t = document.createElement('input'); t.name = 'csrf'; t.value = 'forged';
                       f.appendChild(t); document.body.appendChild(f); f.submit(); }"""
        )
    assert ann.locator("h1").inner_text() == "Form refused"

    # sign out: the session ends
    ann.goto(f"{live_desk}/review")
    ann.locator("button", has_text="Sign out").focus()
    press_and_wait(ann, "Enter")
    assert "Signed out." in ann.locator("main").inner_text()
    ann.goto(f"{live_desk}/review")
    assert ann.url.startswith(f"{live_desk}/review/login")
    refused = "console error: Failed to load resource: the server responded with a status of {}"
    assert problems == [refused.format("409 (Conflict)"), refused.format("403 (Forbidden)")]  # the two refusals
