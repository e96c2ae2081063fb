"""The learning-loop simulation (benchmarks/simulation.py) end to end on a tiny synthetic desk: tickets are
triaged into a real store, deferred ones reviewed, outcomes arrive, the bundle is retrained from the store,
and the live estimate is read with the simulated clock."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDS = {
    "printer": ["printer", "toner", "paper", "jam", "tray"],
    "access": ["password", "login", "account", "locked", "reset"],
    "payroll": ["salary", "payslip", "holiday", "contract", "bonus"],
}


@pytest.fixture(scope="module")
def simulation():
    spec = importlib.util.spec_from_file_location("simulation", ROOT / "benchmarks" / "simulation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _tickets(path: Path, n: int) -> Path:
    """Three classes with their own words, shared filler, and 8% of labels flipped (so neither every ticket
    is deferred nor every auto-routed one right)."""
    rng = np.random.default_rng(0)
    filler = ["please", "help", "today", "issue", "thanks", "team", "urgent", "again"]
    classes = list(WORDS)
    rows = []
    for _ in range(n):
        label = classes[rng.integers(len(classes))]
        words = list(rng.choice(WORDS[label], 3)) + list(rng.choice(filler, 4))
        rng.shuffle(words)
        shown = classes[rng.integers(len(classes))] if rng.random() < 0.08 else label
        rows.append({"text": " ".join(words), "category": shown})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_simulation_runs_the_loop(simulation, tmp_path: Path) -> None:
    data = _tickets(tmp_path / "tickets.csv", 1000)
    out = tmp_path / "sim.json"
    simulation.main(
        ["--data", str(data), "--week-size", "250", "--initial-weeks", "2", "--novelty-seconds", "1",
         "--precision-target", "0.8",
         "--out", str(out), "--workdir", str(tmp_path / "work")]
    )  # fmt: skip
    result = json.loads(out.read_text())
    weeks = result["weeks"]
    assert [w["week"] for w in weeks] == [2, 3]
    first, last = weeks
    assert first["retrained_on_tickets"] > 500  # the export's 500 tickets and the store's labelled ones
    assert last["retrain_seconds"] is None  # no retraining after the last week
    for week in weeks:
        assert 0 < week["auto_routed"] < week["tickets"]  # both branches reached
        deferred = week["tickets"] - week["auto_routed"]
        assert 0 < week["reviews"] <= deferred  # a ticket resolved before its review is not reviewed
        live, later = week["live"], week["week_later"]
        assert live["tickets"] == later["tickets"] == week["tickets"]  # the windows hold this week's tickets
        assert 0 < live["judged"] < later["judged"] <= week["auto_routed"]  # more outcomes a week later
        low, high = later["interval"]
        assert low <= later["precision"] <= high
        assert later["holds_truth"] == (low <= week["precision_true"] <= high)
    assert result["week_later"]["weeks_with_estimate"] == 2
