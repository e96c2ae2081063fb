"""`triage promote`: the champion alias moves only through the gate, or with --force, which is tagged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from triage.cli import app
from triage.cli import registry as _registry  # noqa: F401  (registers the commands)
from triage.registry import get_alias, register_bundle
from triage.registry.versions import client

runner = CliRunner()


def said(result: Any) -> str:
    """What a command printed, with rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_promote_refuses_a_worse_version_unless_forced(
    registry: str, trained_bundle: Path, weak_bundle: Path, small_export: Path, tmp_path: Path
) -> None:
    register_bundle(trained_bundle, registry)  # version 1
    first = runner.invoke(app, ["promote", registry])
    assert first.exit_code == 0, first.output
    assert "the first" in said(first) and str(get_alias(registry).version) == "1"

    register_bundle(weak_bundle, registry)  # version 2, trained on 300 tickets
    no_data = runner.invoke(app, ["promote", registry])
    assert no_data.exit_code == 2 and "--data" in said(no_data)
    refused = runner.invoke(
        app, ["promote", registry, "--data", str(small_export), "--min-support", "10", "--out", str(tmp_path / "cmp")]
    )
    assert refused.exit_code == 1, refused.output
    assert "gate:" in said(refused) and "not promoted" in said(refused)
    assert str(get_alias(registry).version) == "1"  # the champion is unchanged
    assert (tmp_path / "cmp" / "compare.json").is_file()
    tags = client().get_model_version(registry, "2").tags
    assert tags["triage.gate"] == "failed" and tags["triage.gate_against"] == "1" and tags["triage.gate_failures"]

    forced = runner.invoke(app, ["promote", registry, "--version", "2", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "without the gate" in said(forced)
    assert str(get_alias(registry).version) == "2"
    tags = client().get_model_version(registry, "2").tags
    assert tags["triage.forced"] == "true" and tags["triage.promotion"] == "forced"
    assert tags["triage.replaced"] == "1" and tags["triage.promoted_by"] and tags["triage.promoted_at"]

    # back to the better version, through the gate this time
    passed = runner.invoke(app, ["promote", registry, "--version", "1", "--data", str(small_export)])
    assert passed.exit_code == 0, passed.output
    assert "gate passed" in said(passed) and str(get_alias(registry).version) == "1"
    assert client().get_model_version(registry, "1").tags["triage.promotion"] == "gate passed"
    again = runner.invoke(app, ["promote", registry, "--version", "1"])
    assert again.exit_code == 0 and "already the champion" in said(again)


def test_promote_names_an_unknown_model_or_version(registry: str, trained_bundle: Path) -> None:
    from triage.errors import RegistryError

    missing = runner.invoke(app, ["promote", registry])
    assert isinstance(missing.exception, RegistryError) and "no versions" in str(missing.exception)
    register_bundle(trained_bundle, registry)
    wrong = runner.invoke(app, ["promote", registry, "--version", "7"])
    assert isinstance(wrong.exception, RegistryError) and "not found" in str(wrong.exception)
