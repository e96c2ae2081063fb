"""Working a ticket: the page shows the model's suggestions and why it deferred; accept, correct, skip and
"not a ticket" are stored and the next ticket opens at once; claims keep agents apart and a stale submit is
refused with who and when, nothing overwritten."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.desk.conftest import csrf_of
from triage.decision import Decision
from triage.store import Provenance, Store, TicketRecord, get_ticket, queue, release, submit_review
from triage.store.outcomes import OutcomeRecord, record_outcome

Clients = Callable[[str | None], TestClient]


def form_of(html: str) -> dict[str, str]:
    """The review form's hidden fields and checked choices, as a browser would send them."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    fields |= dict(re.findall(r'<input type="radio" name="(\w+)" value="([^"]*)" checked>', html))
    return fields


def start(client: TestClient) -> tuple[str, str]:
    """Press "Start reviewing": the claimed ticket's id and page."""
    answer = client.post("/review/next", data={"csrf": client.desk_csrf})  # type: ignore[attr-defined]
    assert answer.status_code == 200 and answer.url.path.startswith("/review/t/"), answer.url
    return answer.url.path.removeprefix("/review/t/"), answer.text


def test_ticket_page_shows_suggestions_confidence_and_reasons_in_words(
    client_of: Clients, decided: list[tuple[TicketRecord, Decision]], first_id: str
) -> None:
    ticket_id, page = start(client_of("bob"))
    assert ticket_id == first_id  # the most urgent one
    record, decision = next((r, d) for r, d in decided if r.id == ticket_id)
    assert record.subject in page and record.body[:40] in page
    for head, s in decision.heads.items():
        assert f'name="{head}" value="{s.label}" checked' in page  # the suggestion pre-selected
        assert f"{s.confidence:.0%})" in page
        for key, label in enumerate(s.prediction_set[:9], start=1):
            assert re.search(rf'value="{label}"[^>]*><kbd>\d</kbd>', page) and key  # each set label has a key
    p = decision.heads["priority"]
    low = f"priority: {p.label} is {p.confidence:.0%} likely, below its {p.threshold:.0%} threshold"
    assert low in page
    assert "a person decides before a ticket is rated less urgent" in page  # its priority risk, in words


def test_accept_stores_the_suggestions_and_opens_the_next_ticket(client_of: Clients, store: Store) -> None:
    bob = client_of("bob")
    first, page = start(bob)
    answer = bob.post(f"/review/t/{first}", data={**form_of(page), "action": "accept"})
    assert answer.url.path.startswith("/review/t/") and answer.url.path != f"/review/t/{first}"
    assert f"Saved {first}." in answer.text
    stored = get_ticket(store, first)
    assert stored.reviewed_by == "bob" and stored.review is not None
    assert stored.review.provenance == Provenance.ACCEPTED
    assert stored.decision is not None
    assert stored.review.labels == {h: s.label for h, s in stored.decision.decision.heads.items()}
    assert first not in bob.get("/review").text  # left the queue


def test_a_correction_by_choice_or_typed_label_is_stored_as_corrected(
    client_of: Clients, store: Store, model_labels: dict[str, list[str]]
) -> None:
    bob = client_of("bob")
    ticket_id, page = start(bob)
    decision = get_ticket(store, ticket_id).decision
    assert decision is not None
    heads = decision.decision.heads
    other_priority = heads["priority"].alternatives[0].label
    other_category = next(label for label in model_labels["category"] if label != heads["category"].label)
    data = {**form_of(page), "priority": other_priority, "typed_category": other_category, "action": "accept"}
    bob.post(f"/review/t/{ticket_id}", data=data)
    review = get_ticket(store, ticket_id).review
    assert review is not None and review.provenance == Provenance.CORRECTED
    assert review.labels["priority"] == other_priority and review.labels["category"] == other_category
    assert sorted(review.changed) == ["category", "priority"]


def test_an_unknown_label_is_refused_and_nothing_stored(client_of: Clients, store: Store) -> None:
    bob = client_of("bob")
    ticket_id, page = start(bob)
    answer = bob.post(f"/review/t/{ticket_id}", data={**form_of(page), "typed_tier": "L9 <b>", "action": "accept"})
    assert answer.status_code == 400 and "&#39;L9 &lt;b&gt;&#39; is not a label of this desk" in answer.text
    assert 'id="review"' in answer.text  # the ticket again, to pick a label from the list
    assert get_ticket(store, ticket_id).reviewed_at is None
    again = bob.post(f"/review/t/{ticket_id}", data={**form_of(answer.text), "action": "accept"})
    assert again.url.path != f"/review/t/{ticket_id}" and get_ticket(store, ticket_id).reviewed_by == "bob"


def test_not_a_ticket_and_skip(client_of: Clients, store: Store) -> None:
    bob = client_of("bob")
    first, page = start(bob)
    after = bob.post(f"/review/t/{first}", data={**form_of(page), "action": "not_a_ticket"})
    review = get_ticket(store, first).review
    assert review is not None and review.provenance == Provenance.NOT_A_TICKET
    assert review.labels == {"category": None, "priority": None, "tier": None}
    second = after.url.path.removeprefix("/review/t/")
    skipped = bob.post(f"/review/t/{second}", data={**form_of(after.text), "action": "skip"})
    third = skipped.url.path.removeprefix("/review/t/")
    assert third not in (first, second)
    ticket = get_ticket(store, second)
    assert ticket.reviewed_at is None and ticket.claimed_by is None  # released for others
    again = bob.post("/review/next", data={"csrf": csrf_of(skipped.text)})
    assert again.url.path.removeprefix("/review/t/") == third  # bob's own claim, not the skipped one
    assert get_ticket(store, second).claimed_by is None


def test_two_agents_never_work_the_same_ticket(client_of: Clients, store: Store) -> None:
    ann, bob = client_of("ann"), client_of("bob")
    ann_ticket, ann_page = start(ann)
    bob_ticket, _ = start(bob)
    assert ann_ticket != bob_ticket
    held = bob.get(f"/review/t/{ann_ticket}")
    assert "<strong>ann</strong> is working on this ticket" in held.text and 'id="review"' not in held.text
    # bob submits a form for ann's ticket anyway (an old tab): refused with who, nothing stored
    stale = {**form_of(ann_page), "csrf": bob.desk_csrf, "action": "accept"}  # type: ignore[attr-defined]
    refused = bob.post(f"/review/t/{ann_ticket}", data=stale)
    assert refused.status_code == 409 and "<strong>ann</strong> is working on this ticket" in refused.text
    assert get_ticket(store, ann_ticket).reviewed_at is None
    ann.post(f"/review/t/{ann_ticket}", data={**form_of(ann_page), "action": "accept"})
    assert get_ticket(store, ann_ticket).reviewed_by == "ann"
    shown = bob.get(f"/review/t/{ann_ticket}")  # a reviewed ticket is shown, not claimed again
    assert "Reviewed by <strong>ann</strong>" in shown.text and get_ticket(store, ann_ticket).claimed_by is None


def test_a_submit_on_a_ticket_someone_else_finished_is_refused_with_who_and_when(
    client_of: Clients, store: Store
) -> None:
    ann, bob = client_of("ann"), client_of("bob")
    ticket_id, ann_page = start(ann)
    release(store, ticket_id, "ann")  # ann's claim ran out while the page stayed open
    bob_page = bob.get(f"/review/t/{ticket_id}").text
    bob.post(f"/review/t/{ticket_id}", data={**form_of(bob_page), "action": "not_a_ticket"})
    done = get_ticket(store, ticket_id)
    assert done.reviewed_at is not None
    refused = ann.post(f"/review/t/{ticket_id}", data={**form_of(ann_page), "action": "accept"})
    assert refused.status_code == 409
    assert f"Already reviewed by <strong>bob</strong> at {done.reviewed_at:%H:%M:%S UTC on %Y-%m-%d}" in refused.text
    assert "nothing was overwritten" in refused.text
    after = get_ticket(store, ticket_id)
    assert after.review is not None and after.review.agent == "bob" and after.version == done.version
    assert after.review.provenance == Provenance.NOT_A_TICKET


def test_the_queue_ends_with_a_message(client_of: Clients, store: Store) -> None:
    bob = client_of("bob")
    for ticket_id in [item.id for item in queue(store)]:
        view = get_ticket(store, ticket_id)
        submit_review(store, ticket_id, "carl", version=view.version, source="api")
    empty = bob.post("/review/next", data={"csrf": bob.desk_csrf})  # type: ignore[attr-defined]
    assert empty.url.path == "/review" and "No more tickets to review here" in empty.text
    assert "0 tickets to review" in empty.text


def test_a_ticket_resolved_in_the_ticketing_system_shows_its_outcome_and_is_not_claimed(
    client_of: Clients, store: Store
) -> None:
    ticket_id = queue(store)[0].id
    record_outcome(store, OutcomeRecord(ticket_id, "servicenow", {"category": "network", "priority": None}))
    page = client_of("bob").get(f"/review/t/{ticket_id}").text
    assert 'id="resolved"' in page and "outcome from <strong>servicenow</strong>" in page
    assert re.search(r'id="outcome".*<dt>category</dt><dd>network', page, re.S)
    assert 'id="review"' not in page  # no form: nothing left to review
    assert get_ticket(store, ticket_id).claimed_by is None
