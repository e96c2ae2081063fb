"""``triage agents``: the named accounts of the review desk (passwords hashed with Argon2)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from triage.cli import app, err
from triage.cli.db import UrlOpt, open_store

agents_app = typer.Typer(help="Accounts of the review desk's agents.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")


@agents_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The agent's login name.")],
    admin: Annotated[bool, typer.Option("--admin", help="May manage agents and see the audit log.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (scripts).")
    ] = False,
    url: UrlOpt = None,
) -> None:
    """Create an account; the password is asked for twice (never given on the command line)."""
    from triage.store.agents import add_agent

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    store = open_store(url)
    try:
        agent = add_agent(store, name, password, admin=admin, actor="triage agents add")
    finally:
        store.dispose()
    err.print(f"agent {agent.name} added{' (admin)' if agent.is_admin else ''}")


@agents_app.command("list")
def list_(url: UrlOpt = None) -> None:
    """The accounts, one a line: name, role, created."""
    from triage.store.agents import list_agents

    store = open_store(url)
    try:
        for agent in list_agents(store):
            role = "admin" if agent.is_admin else "agent"
            state = " (disabled)" if agent.disabled_at else ""
            typer.echo(f"{agent.name}\t{role}\t{agent.created_at:%Y-%m-%d}{state}")
    finally:
        store.dispose()
