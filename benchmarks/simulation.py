"""The learning loop, simulated (issue 13): the IT tickets replayed in time order through the service's decision
path, agents reviewing deferred tickets, outcomes arriving about a week later, and the bundle retrained from the
store every week; week by week, coverage and realised precision of auto-routing beside the live estimate.

    python benchmarks/simulation.py                      # 38,280 tickets: 25 weeks of 1,500, 4 initial weeks
    python benchmarks/simulation.py --quick              # a smoke run (~1-2 min): 8 weeks of 500, 3 initial
    python benchmarks/simulation.py --week-size 1000 --retrain-every 2 --delay fixed

Time: the data set has no timestamps and its file order is not grouped by class (29,398 runs of one class
against ~31,100 expected at random) but drifts (Hardware rises from ~21% of the first tickets to ~46% of the
last): the file order is taken as time order. Week ``k`` starts on 2026-01-05 + k weeks; a week's tickets
arrive evenly spread over it, in hourly batches.

Each week (after the first ``--initial-weeks``, which are the "export" the first bundle is trained on):
- each ticket is decided by the served bundle as the API decides it (``triage.decision.decide_tickets`` on the
  text cleaned by ``prepare_parts``) and recorded in a real store (SQLite in a temporary folder, migrated with
  alembic) by the service's ``Recorder``, with its simulated ``received_at``;
- an agent reviews each deferred ticket with its true label within a working day (``submit_review``, as
  ``POST /v1/tickets/{id}/review``), unless its outcome came first;
- the ticketing system reports each ticket's true category ``--delay-days`` after it arrived (``fixed``) or after
  an exponentially distributed delay of that mean (``exponential``, the default: resolution times are skewed),
  through ``record_outcomes`` (as ``POST /v1/tickets/{id}/outcome``);
- at the week's end live quality is computed by ``triage.monitoring.compute_quality`` on the store with the
  simulated clock (``now`` = the week's end, the 7-day window), then every ``--retrain-every`` weeks the bundle
  is retrained as ``triage train EXPORT --from-store`` retrains it (``training.train`` with
  ``labelled=training_source(store)``) and swapped in. Training defaults to ``--features tfidf``, trees off and
  no refit after the hold-out measurement: the CLI's defaults take about 6 times longer per run on 2 cores.

The truth of a week is the precision of its auto-routed tickets against the data set's labels (all of them, not
only those whose outcome had arrived). The live estimate is read twice: at the week's end (what the dashboard
shows then) and a week later (``now`` = that week's end again, with the outcomes that arrived since).
Results go to benchmarks/results/simulation.json and a markdown table is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("/work/shared/datasets/it_tickets/tickets.csv.gz")
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
AGENT = "sim-agent"
SOURCE = "sim-itsm"


@dataclass
class Ticket:
    id: str
    text: str  # cleaned, as the model reads it
    label: str
    week: int
    received_at: datetime
    review_at: datetime
    outcome_at: datetime
    auto: bool | None = None  # auto-routed (None: not triaged yet)
    suggested: str | None = None


@dataclass
class Week:
    week: int
    model: str
    tickets: int = 0
    auto: int = 0
    auto_correct: int = 0
    reviews: int = 0
    outcomes: int = 0
    retrain_seconds: float | None = None
    trained_on: int | None = None  # tickets of the bundle retrained at the week's end
    live: dict[str, Any] = field(default_factory=dict)
    settled: dict[str, Any] = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        return self.auto / self.tickets if self.tickets else None

    @property
    def precision(self) -> float | None:
        return self.auto_correct / self.auto if self.auto else None


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=DATA, help="CSV with columns text,category (file order = time)")
    p.add_argument("--week-size", type=int, default=1500, help="tickets per simulated week")
    p.add_argument("--weeks", type=int, default=None, help="weeks in all, initial ones included (default: all data)")
    p.add_argument("--initial-weeks", type=int, default=4, help="weeks of the export the first bundle learns from")
    p.add_argument("--retrain-every", type=int, default=1, help="retrain from the store every K weeks")
    p.add_argument("--features", default="tfidf", help="feature set of every training run (tfidf: fast on 2 cores)")
    p.add_argument("--trees", choices=["auto", "on", "off"], default="off", help="boosted trees (auto: +40s a run)")
    p.add_argument(
        "--refit",
        action="store_true",
        help="refit the shipped model on every ticket after the hold-out measurement (the CLI's default; twice "
        "the time); default: ship the model measured on 80%%",
    )
    p.add_argument("--precision-target", type=float, default=0.95, help="of training (the CLI's default 0.95)")
    p.add_argument("--novelty-seconds", type=float, default=5.0, help="budget of the novelty-rate rounds per run")
    p.add_argument("--delay", choices=["exponential", "fixed"], default="exponential", help="outcome delays")
    p.add_argument("--delay-days", type=float, default=7.0, help="the outcome delay (its mean when exponential)")
    p.add_argument(
        "--misroute-extra-days",
        type=float,
        default=0.0,
        help="extra outcome delay of misrouted auto-routed tickets (they bounce between teams); 0: none",
    )
    p.add_argument("--review-hours", type=float, default=24.0, help="agents review a deferred ticket within this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="smoke run: 8 weeks of 500 tickets, 3 initial")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "simulation.json")
    p.add_argument("--workdir", type=Path, default=None, help="keep the store and bundles here (default: temp)")
    args = p.parse_args(argv)
    if args.quick:
        args.week_size, args.weeks, args.initial_weeks = 500, 8, 3
        if args.out == p.get_default("out"):
            args.out = ROOT / "benchmarks" / "results" / "simulation-quick.json"
    for name in ("week_size", "initial_weeks", "retrain_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    return args


def load_weeks(args: argparse.Namespace) -> list[list[Ticket]]:
    """The data set cut into weeks in file order, each ticket with its arrival, review and outcome times."""
    from triage.data.cleaning import prepare_parts

    frame = pd.read_csv(args.data)
    missing = {"text", "category"} - set(frame.columns)
    if missing:
        raise SystemExit(f"{args.data}: missing column(s) {sorted(missing)}; need text,category")
    n_weeks = len(frame) // args.week_size
    if args.weeks is not None:
        n_weeks = min(n_weeks, args.weeks)
    if n_weeks <= args.initial_weeks:
        raise SystemExit(f"{n_weeks} weeks of {args.week_size} tickets: need more than --initial-weeks")
    rng = np.random.default_rng(args.seed)
    weeks: list[list[Ticket]] = []
    for w in range(n_weeks):
        part = frame.iloc[w * args.week_size : (w + 1) * args.week_size]
        start = START + w * WEEK
        offsets = (np.arange(len(part)) + 0.5) / len(part) * 7 * 24  # hours into the week, evenly spread
        if args.delay == "fixed":
            delays = np.full(len(part), args.delay_days * 24)
        else:
            delays = rng.exponential(args.delay_days * 24, len(part))
        reviews = rng.uniform(0, args.review_hours, len(part))
        week = []
        for i, (text, label) in enumerate(zip(part["text"], part["category"], strict=True)):
            received = start + timedelta(hours=float(offsets[i]))
            week.append(
                Ticket(
                    id=f"it-{w * args.week_size + i:05d}",
                    text=prepare_parts("", str(text)).text,
                    label=str(label),
                    week=w,
                    received_at=received,
                    review_at=received + timedelta(hours=float(reviews[i])),
                    outcome_at=received + timedelta(hours=float(delays[i])),
                )
            )
        weeks.append(week)
    return weeks


def write_export(path: Path, weeks: list[list[Ticket]]) -> Path:
    """The initial weeks as an export file (id, created_at, text, category), as a desk would export them."""
    rows = [
        {"id": t.id, "created_at": t.received_at.isoformat(), "text": t.text, "category": t.label}
        for week in weeks
        for t in week
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def train_bundle(export: Path, out_dir: Path, args: argparse.Namespace, store: Any | None) -> tuple[Any, int]:
    """``triage train EXPORT [--from-store]`` in process; the loaded triager of the new bundle and the number of
    tickets it learnt from."""
    from training import TrainConfig, train
    from triage.decision import Triager
    from triage.models import load_bundle
    from triage.settings import get_settings
    from triage.store.labels import training_source

    config = TrainConfig(
        feature_set=args.features,
        trees=args.trees,
        refit=args.refit,
        mlflow=False,
        novelty_seconds=args.novelty_seconds,
        precision_target=args.precision_target,
        seed=args.seed,
    )
    labelled = training_source(store) if store is not None else None
    with contextlib.redirect_stderr(io.StringIO()):  # the data-quality tables of every run
        result = train([export], out_dir, config=config, labelled=labelled)
    triager = Triager.from_settings(load_bundle(result.bundle.path), get_settings())
    return triager, len(result.tickets.frame)


def _reading(judged: int, correct: int, tickets: int, auto: int) -> dict[str, Any]:
    from triage.monitoring.stats import wilson

    return {
        "tickets": tickets,
        "coverage": auto / tickets if tickets else None,
        "judged": judged,
        "precision": correct / judged if judged else None,
        "interval": list(wilson(correct, judged)) if judged else None,
    }


def estimates(store: Any, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The category head's live precision as ``triage monitor`` computes it at ``now``: the 7-day window (this
    week), and the week before it read now (the 14-day window's counts less the 7-day one's: the windows of
    ``compute_quality`` end at ``now``, so a past week is the difference of two)."""
    from triage.monitoring import compute_quality

    windows = compute_quality(store, windows={"7d": 7, "14d": 14}, now=now).windows

    def counts(name: str) -> tuple[int, int, int, int]:
        window = windows[name]
        head = window.heads.get("category")
        total = head.total if head is not None else None
        judged, correct = (total.judged, total.correct) if total is not None else (0, 0)
        return judged, correct, window.tickets, window.auto_routed

    week, both = counts("7d"), counts("14d")
    before = tuple(b - w for b, w in zip(both, week, strict=True))
    return _reading(*week), _reading(*before)


def holds(est: dict[str, Any], truth: float | None) -> bool | None:
    if truth is None or not est.get("interval"):
        return None
    low, high = est["interval"]
    return bool(low - 1e-12 <= truth <= high + 1e-12)


class Simulation:
    """The clock, the store and the served triager; events are processed hour by hour."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from triage.store import Recorder, Store, upgrade

        self.args = args
        self.workdir = workdir
        self.store = Store.from_url(f"sqlite:///{workdir / 'store.db'}")
        upgrade(self.store.engine)
        self.recorder = Recorder(self.store)
        self.pending_reviews: list[Ticket] = []
        self.pending_outcomes: list[Ticket] = []
        self.resolved: set[str] = set()

    def triage(self, batch: list[Ticket], triager: Any, at: datetime) -> None:
        from triage.decision import decide_tickets
        from triage.store import TicketRecord

        decisions = decide_tickets(triager, [t.text for t in batch])
        for ticket, decision in zip(batch, decisions, strict=True):
            record = TicketRecord(id=ticket.id, subject="", body=ticket.text)
            if not self.recorder.record(record, decision, received_at=ticket.received_at):
                raise RuntimeError(f"recording {ticket.id} failed: {self.recorder.last_error}")
            ticket.auto = decision.outcome.value == "auto_route"
            ticket.suggested = decision.heads["category"].label if "category" in decision.heads else None
            if not ticket.auto:
                self.pending_reviews.append(ticket)
            self.pending_outcomes.append(ticket)

    def advance(self, until: datetime, week: Week) -> None:
        """Reviews and outcomes due before ``until``, in time order."""
        from triage.store import OutcomeRecord, record_outcomes, submit_review

        for ticket in sorted((t for t in self.pending_reviews if t.review_at < until), key=lambda t: t.review_at):
            if ticket.id not in self.resolved and ticket.review_at < ticket.outcome_at:
                submit_review(
                    self.store, ticket.id, AGENT, version=None, labels={"category": ticket.label}, now=ticket.review_at
                )
                week.reviews += 1
        self.pending_reviews = [t for t in self.pending_reviews if t.review_at >= until]
        due = sorted((t for t in self.pending_outcomes if t.outcome_at < until), key=lambda t: t.outcome_at)
        if due:
            records = [OutcomeRecord(t.id, SOURCE, {"category": t.label}, resolved_at=t.outcome_at) for t in due]
            record_outcomes(self.store, records, now=until)
            self.resolved.update(t.id for t in due)
            week.outcomes += len(due)
        self.pending_outcomes = [t for t in self.pending_outcomes if t.outcome_at >= until]

    def delay_misroutes(self, batch: list[Ticket]) -> None:
        extra = timedelta(days=self.args.misroute_extra_days)
        for t in batch:
            if extra and t.auto and t.suggested != t.label:
                t.outcome_at += extra


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    weeks = load_weeks(args)
    n_init = args.initial_weeks
    export = write_export(workdir / "export.csv", weeks[:n_init])
    sim = Simulation(args, workdir)
    t = time.perf_counter()
    triager, _ = train_bundle(export, workdir / "bundle-0", args, store=None)
    first_train = time.perf_counter() - t
    print(f"initial bundle: {n_init} weeks, {n_init * args.week_size} tickets, {first_train:.0f}s", file=sys.stderr)
    results: list[Week] = []
    for w in range(n_init, len(weeks)):
        week = Week(week=w, model=triager.version)
        start = START + w * WEEK
        by_hour: dict[int, list[Ticket]] = {}
        for ticket in weeks[w]:
            by_hour.setdefault(int((ticket.received_at - start) / HOUR), []).append(ticket)
        for hour in range(7 * 24):
            at = start + hour * HOUR
            sim.advance(at, week)
            batch = by_hour.get(hour, [])
            if batch:
                sim.triage(batch, triager, at)
                sim.delay_misroutes(batch)
        end = start + WEEK
        sim.advance(end, week)
        week.tickets = len(weeks[w])
        week.auto = sum(bool(t.auto) for t in weeks[w])
        week.auto_correct = sum(bool(t.auto) and t.suggested == t.label for t in weeks[w])
        week.live, previous = estimates(sim.store, end)
        if results:  # the previous week, read again now that a week more of its outcomes arrived
            results[-1].settled = previous
        results.append(week)
        line = (
            f"week {w}: coverage {week.coverage:.3f}, precision {week.precision or float('nan'):.3f}, "
            f"live {fmt_est(week.live)}"
        )
        if (w - n_init + 1) % args.retrain_every == 0 and w + 1 < len(weeks):
            t = time.perf_counter()
            triager, week.trained_on = train_bundle(export, workdir / f"bundle-{w + 1}", args, store=sim.store)
            week.retrain_seconds = time.perf_counter() - t
            line += f", retrained in {week.retrain_seconds:.0f}s"
        print(line, file=sys.stderr)
    # the last week's settled reading: its outcomes up to a week after its end
    sim.advance(START + (len(weeks) + 1) * WEEK, Week(week=-1, model=""))
    _, results[-1].settled = estimates(sim.store, START + (len(weeks) + 1) * WEEK)
    return summarise(args, results, first_train, time.perf_counter() - started)


def fmt_est(est: dict[str, Any]) -> str:
    if not est.get("interval"):
        return f"none ({est.get('judged', 0)} judged)"
    low, high = est["interval"]
    return f"{est['precision']:.3f} [{low:.3f}, {high:.3f}] ({est['judged']} judged)"


def summarise(args: argparse.Namespace, weeks: list[Week], first_train: float, seconds: float) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for w in weeks:
        rows.append(
            {
                "week": w.week,
                "model": w.model,
                "tickets": w.tickets,
                "coverage": w.coverage,
                "auto_routed": w.auto,
                "precision_true": w.precision,
                "reviews": w.reviews,
                "outcomes_arrived": w.outcomes,
                "live": {**w.live, "holds_truth": holds(w.live, w.precision)},
                "week_later": {**w.settled, "holds_truth": holds(w.settled, w.precision)},
                "retrain_seconds": w.retrain_seconds,
                "retrained_on_tickets": w.trained_on,
            }
        )

    def tally(key: str) -> dict[str, Any]:
        judged = [r[key]["holds_truth"] for r in rows if r[key]["holds_truth"] is not None]
        return {
            "weeks": len(rows),
            "weeks_with_estimate": len(judged),
            "weeks_interval_holds_truth": sum(judged),
            "share": sum(judged) / len(judged) if judged else None,
        }

    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("out", "workdir")}
    return {
        "config": config,
        "time_order": "file order (not grouped by class; the class mix drifts over the file)",
        "seconds": round(seconds, 1),
        "first_train_seconds": round(first_train, 1),
        "live": tally("live"),
        "week_later": tally("week_later"),
        "weeks": rows,
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _cell(est: dict[str, Any]) -> str:
    if not est.get("interval"):
        return f"none ({est.get('judged', 0)} judged)"
    low, high = est["interval"]
    mark = "" if est.get("holds_truth") else " ✗"
    return f"{_pct(est['precision'])} [{_pct(low)}, {_pct(high)}] n={est['judged']}{mark}"


def table(result: dict[str, Any]) -> str:
    lines = [
        "| week | tickets | coverage | precision (truth) | live estimate at week's end [95%] | a week later [95%] |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["weeks"]:
        lines.append(
            f"| {r['week']} | {r['tickets']} | {_pct(r['coverage'])} | {_pct(r['precision_true'])} | "
            f"{_cell(r['live'])} | {_cell(r['week_later'])} |"
        )
    for key, name in (("live", "at the week's end"), ("week_later", "a week later")):
        t = result[key]
        lines.append(
            f"\nInterval {name} holds the truth in {t['weeks_interval_holds_truth']} of {t['weeks_with_estimate']} "
            f"weeks with an estimate ({_pct(t['share'])}; {t['weeks']} weeks simulated)."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="triage-sim-") as tmp:
            result = run(args, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(table(result))
    print(f"\n{result['seconds']:.0f}s in all; results in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
