"""Agents of the review desk: named accounts with Argon2-hashed passwords (pwdlib)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from pwdlib import PasswordHash
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from triage.errors import ConfigError
from triage.store.audit import audit
from triage.store.engine import Store
from triage.store.models import agents
from triage.store.types import utcnow

MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class AgentView:
    id: int
    name: str
    is_admin: bool
    created_at: datetime
    disabled_at: datetime | None


@lru_cache(maxsize=1)
def hasher() -> PasswordHash:
    return PasswordHash.recommended()  # Argon2id


def add_agent(store: Store, name: str, password: str, *, admin: bool = False, actor: str = "cli") -> AgentView:
    """Create an account; a taken name or a short password is a :class:`ConfigError`."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ConfigError("an agent's name needs 1 to 100 characters")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password needs at least {MIN_PASSWORD} characters")
    now = utcnow()
    values = {"name": name, "password_hash": hasher().hash(password), "is_admin": admin, "created_at": now}
    try:
        with store.write() as conn:
            agent_id = conn.execute(insert(agents).returning(agents.c.id), values).scalar_one()
            audit(conn, actor, "agent_added", detail={"agent": name, "admin": admin})
    except IntegrityError:
        raise ConfigError(f"an agent named {name!r} exists already") from None
    return AgentView(id=agent_id, name=name, is_admin=admin, created_at=now, disabled_at=None)


def authenticate(store: Store, name: str, password: str) -> AgentView | None:
    """The agent when the name and password match an enabled account (the hash is upgraded when pwdlib's
    parameters changed); None otherwise."""
    with store.read() as conn:
        row = conn.execute(select(agents).where(agents.c.name == name)).first()
    if row is None:
        hasher().hash(password)  # about the same time as a wrong password: no hint which names exist
        return None
    valid, new_hash = hasher().verify_and_update(password, row.password_hash)
    if not valid or row.disabled_at is not None:
        return None
    if new_hash is not None:
        with store.write() as conn:
            conn.execute(update(agents).where(agents.c.id == row.id).values(password_hash=new_hash))
    return AgentView(row.id, row.name, row.is_admin, row.created_at, row.disabled_at)


def list_agents(store: Store) -> list[AgentView]:
    query = select(agents.c.id, agents.c.name, agents.c.is_admin, agents.c.created_at, agents.c.disabled_at)
    with store.read() as conn:
        return [AgentView(**row._mapping) for row in conn.execute(query.order_by(agents.c.name))]


def get_agent(store: Store, name: str) -> AgentView | None:
    query = select(agents.c.id, agents.c.name, agents.c.is_admin, agents.c.created_at, agents.c.disabled_at)
    with store.read() as conn:
        row = conn.execute(query.where(agents.c.name == name)).first()
    return AgentView(**row._mapping) if row is not None else None


def set_disabled(store: Store, name: str, disabled: bool, *, actor: str) -> bool:
    """Disable (or enable again) an account, with an audit entry; False when no agent has that name."""
    with store.write() as conn:
        changed = conn.execute(
            update(agents).where(agents.c.name == name).values(disabled_at=utcnow() if disabled else None)
        ).rowcount
        if changed:
            audit(conn, actor, "agent_disabled" if disabled else "agent_enabled", detail={"agent": name})
    return bool(changed)
