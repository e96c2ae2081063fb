"""The admin page: the desk's numbers from real reviews, and accounts added and disabled; agents without the
admin role cannot reach it."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.desk.conftest import csrf_of
from triage.desk.queries import desk_numbers
from triage.store import Store, get_ticket, queue, queue_size, submit_review
from triage.store.agents import list_agents

Clients = Callable[[str | None], TestClient]


def _review_some(store: Store) -> None:
    """bob accepts two tickets and corrects the priority of a third; carl marks one as not a ticket."""
    ids = [item.id for item in queue(store)][:4]
    for ticket_id in ids[:2]:
        submit_review(store, ticket_id, "bob", version=get_ticket(store, ticket_id).version)
    view = get_ticket(store, ids[2])
    assert view.decision is not None
    other = view.decision.decision.heads["priority"].alternatives[0].label
    submit_review(store, ids[2], "bob", version=view.version, labels={"priority": other})
    submit_review(store, ids[3], "carl", version=get_ticket(store, ids[3]).version, not_a_ticket=True)


def test_admins_see_the_desks_numbers(client_of: Clients, store: Store) -> None:
    _review_some(store)
    numbers = desk_numbers(store)
    assert numbers.reviews == 4 and dict(numbers.per_agent["bob"]) == {"accepted": 2, "corrected": 1}
    assert numbers.acceptance["priority"].kept == 2 and numbers.acceptance["priority"].total == 3
    assert numbers.acceptance["category"].rate == 1.0
    page = client_of("ann").get("/review/admin").text
    assert f'<span class="big" id="queue-size">{queue_size(store)}</span>' in page
    cells = r'<td class="num">3</td><td class="num">2</td><td class="num">1</td>'
    assert re.search(r'<th scope="row">bob</th>' + cells, page)
    assert re.search(r'<th scope="row">carl</th><td class="num">1</td>.*<td class="num">1</td></tr>', page)
    assert "priority: 67%" in page and "category: 100%" in page


def test_agents_cannot_reach_the_admin_page(client_of: Clients, store: Store) -> None:
    bob = client_of("bob")
    assert bob.get("/review/admin").status_code == 403
    data = {"csrf": bob.desk_csrf, "name": "eve", "password": "x" * 12}  # type: ignore[attr-defined]
    answer = bob.post("/review/admin/agents", data=data)
    assert answer.status_code == 403 and "for the desk&#39;s admins" in answer.text
    assert "eve" not in [a.name for a in list_agents(store)]


def test_admins_add_and_disable_accounts(client_of: Clients, store: Store) -> None:
    ann = client_of("ann")
    token = csrf_of(ann.get("/review/admin").text)
    added = ann.post("/review/admin/agents", data={"csrf": token, "name": "carl", "password": "carl-password-1"})
    assert "Added carl." in added.text
    short = ann.post("/review/admin/agents", data={"csrf": token, "name": "dora", "password": "short"})
    assert short.status_code == 400 and "at least 10 characters" in short.text
    carl = client_of(None)
    login = csrf_of(carl.get("/review/login").text)
    signed = carl.post("/review/login", data={"csrf": login, "name": "carl", "password": "carl-password-1"})
    assert signed.url.path == "/review"
    disabled = ann.post("/review/admin/agents/carl/disable", data={"csrf": token})
    assert "carl: disabled." in disabled.text
    assert [a.disabled_at is not None for a in list_agents(store) if a.name == "carl"] == [True]
    assert carl.get("/review").url.path == "/review/login"
    own = ann.post("/review/admin/agents/ann/disable", data={"csrf": token})
    assert own.status_code == 400 and "your own account" in own.text
    ann.post("/review/admin/agents/carl/enable", data={"csrf": token})
    assert [a.disabled_at for a in list_agents(store) if a.name == "carl"] == [None]
