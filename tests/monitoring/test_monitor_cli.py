"""`triage monitor`: the live-quality table and its JSON, on both databases, against a bundle's targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import PRECISION_TARGETS
from tests.monitoring.conftest import seed
from triage.cli import app, commands, db, monitor  # noqa: F401  (registers the commands)
from triage.store import Store
from triage.store.types import utcnow

runner = CliRunner()


def url_of(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def test_json_holds_every_figure_of_both_windows(store: Store) -> None:
    seed(store, utcnow())
    result = runner.invoke(app, ["monitor", "--database-url", url_of(store), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures["windows"]) == {"7d", "30d"} and figures["queue_size"] == 1
    week = figures["windows"]["7d"]
    vpn = week["heads"]["category"]["classes"]["vpn"]
    assert (vpn["judged"], vpn["correct"], vpn["precision"]) == (4, 3, 0.75)
    assert vpn["precision_interval"][0] < 0.75 < vpn["precision_interval"][1]
    assert week["deferral_reasons"] == {"low_confidence:category": 3, "unfamiliar": 2}
    assert week["heads"]["category"]["target"] is None  # no bundle given
    conflicts = figures["disagreements"]["7d"]  # A1, A2, A4 have outcomes; A2's says email, the model vpn
    assert (conflicts["outcomes"], conflicts["suggested"], conflicts["reviewed"]) == (3, 3, 1)
    assert conflicts["with_suggestion"]["category"] == 1


def test_the_table_of_one_window_against_a_bundle(store: Store, trained_bundle: Path) -> None:
    seed(store, utcnow())
    args = ["monitor", "--database-url", url_of(store), "--model", str(trained_bundle), "--window", "30"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "last 30d" in out and "last 7d" not in out
    assert f"category, last 30d, target {PRECISION_TARGETS['category']:.0%}" in out
    assert "60.0% [" in out  # 3 of 5 auto-routed vpn tickets right over 30 days
    assert "review queue: 1 tickets" in out
    assert "outcomes, last 30d: 3; differing from the agent's review (1 reviewed): none;" in out
    assert "from the model's suggestion (3 triaged): category 1" in out


@pytest.mark.parametrize("window", ["14", "week"])
def test_a_window_other_than_7_or_30_is_refused(store: Store, window: str) -> None:
    result = runner.invoke(app, ["monitor", "--database-url", url_of(store), "--window", window])
    assert result.exit_code == 2 and "--window" in result.output
