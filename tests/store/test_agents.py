"""Agents: named accounts, Argon2 hashes, no duplicate names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from triage.errors import ConfigError
from triage.store import Store
from triage.store.agents import add_agent, authenticate, list_agents
from triage.store.audit import audit_entries
from triage.store.models import agents


def test_agents_are_added_and_authenticated(store: Store) -> None:
    ann = add_agent(store, "ann", "correct horse battery", admin=True)
    add_agent(store, "bob", "another long one")
    assert ann.is_admin and [a.name for a in list_agents(store)] == ["ann", "bob"]
    with store.read() as conn:
        stored = conn.execute(select(agents.c.password_hash).where(agents.c.name == "ann")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    found = authenticate(store, "ann", "correct horse battery")
    assert found is not None and found.name == "ann" and found.is_admin
    assert authenticate(store, "ann", "wrong password!") is None
    assert authenticate(store, "nobody", "correct horse battery") is None
    assert [e.detail for e in audit_entries(store)] == [
        {"agent": "bob", "admin": False},
        {"agent": "ann", "admin": True},
    ]


def test_names_are_unique_and_passwords_long_enough(store: Store) -> None:
    add_agent(store, "ann", "correct horse battery")
    with pytest.raises(ConfigError, match="exists already"):
        add_agent(store, "ann", "another long one")
    with pytest.raises(ConfigError, match="at least 10"):
        add_agent(store, "carl", "short")
    with pytest.raises(ConfigError, match="1 to 100"):
        add_agent(store, "  ", "correct horse battery")
