"""`triage db`, `triage agents`: upgrade from empty, refuse an unmigrated store, purge, add agents."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.store.conftest import pg_url
from triage.cli import agents, app, db  # noqa: F401  (registers the commands)
from triage.store import SchemaNotReady, Store, StoreUnavailable
from triage.store.agents import authenticate

runner = CliRunner()


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.db'}"
    return pg_url(request.getfixturevalue("pg_schema_factory")())


def invoke(*args: str, input: str | None = None) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output, result.exception


def test_upgrade_check_purge_agents(url: str) -> None:
    code, _, error = invoke("db", "check", "--url", url)
    assert isinstance(error, SchemaNotReady) and "triage db upgrade" in str(error)
    code, _, error = invoke("agents", "list", "--url", url)  # every command but upgrade checks the schema first
    assert isinstance(error, SchemaNotReady)
    code, output, _ = invoke("db", "upgrade", "--url", url)
    assert code == 0 and "migrated from empty" in output
    code, output, _ = invoke("db", "upgrade", "--url", url)
    assert code == 0 and "up to date" in output
    code, output, _ = invoke("db", "check", "--url", url)
    assert code == 0 and "up to date" in output
    code, output, _ = invoke("db", "purge", "--url", url, "--days", "30")
    assert code == 0 and "purged the text of 0 tickets" in output
    code, output, _ = invoke("agents", "add", "ann", "--admin", "--url", url, input="a long password\n" * 2)
    assert code == 0 and "agent ann added (admin)" in output and "a long password" not in output
    code, output, _ = invoke("agents", "add", "bob", "--password-stdin", "--url", url, input="bobs password\n")
    assert code == 0
    code, output, error = invoke("agents", "add", "bob", "--password-stdin", "--url", url, input="bobs password\n")
    assert "exists already" in str(error)
    code, output, _ = invoke("agents", "list", "--url", url)
    assert [line.split("\t")[:2] for line in output.splitlines()] == [["ann", "admin"], ["bob", "agent"]]
    store = Store.from_url(url)
    assert authenticate(store, "bob", "bobs password") is not None
    store.dispose()


def test_an_unreachable_store_is_named_without_its_password() -> None:
    _, output, error = invoke("db", "check", "--url", "postgresql://u:s3cret@127.0.0.1:1/x")
    assert isinstance(error, StoreUnavailable) and "cannot reach the store postgresql+psycopg://u:***@" in str(error)
    assert "s3cret" not in str(error) and "s3cret" not in output
