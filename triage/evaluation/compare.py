"""Champion and challenger: evaluate a new bundle and the one in service on the same tickets, test the
differences, and apply a promotion gate.

Paired tickets make the comparison sharp: McNemar's exact test looks only at the tickets one model gets right
and the other wrong (a binomial test on those discordant pairs), overall and within each true class.

>>> result = compare(new_evaluation, old_evaluation, frame, Gate(max_recall_drop=0.05))  # doctest: +SKIP
>>> result["gate"]["passed"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pandas as pd

    from triage.evaluation.evaluate import Evaluation


class Gate(BaseModel):
    """What a challenger must satisfy to replace the champion."""

    max_recall_drop: float = Field(0.05, ge=0.0, le=1.0, description="largest allowed drop of a class's recall")
    min_support: int = Field(20, ge=1, description="classes with fewer test tickets are reported but not gated")
    min_precision: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="overall precision of auto-routed tickets, failed when its 95% upper bound is below; None: "
        "the new bundle's target",
    )
    significance: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="set: a recall drop fails the gate only when McNemar's p-value is below it (small classes "
        "drop a few points by chance); None: any drop beyond max_recall_drop fails",
    )
    ignore_missing_heads: bool = Field(
        False,
        description="a head that only one bundle predicts (or the data does not label) is reported; it fails "
        "the gate unless this is set",
    )


def mcnemar(old_right: np.ndarray, new_right: np.ndarray) -> dict[str, Any]:
    """Exact McNemar test of paired correctness: ``worse`` tickets only the old model got right, ``better``
    only the new one; ``p_value`` two-sided (1.0 with no discordant ticket)."""
    from scipy.stats import binomtest

    worse = int((old_right & ~new_right).sum())
    better = int((~old_right & new_right).sum())
    p = binomtest(min(worse, better), worse + better, 0.5).pvalue if worse + better else 1.0
    return {"better": better, "worse": worse, "p_value": float(min(1.0, p))}


def precision_upper_bound(auto: dict[str, Any], confidence: float = 0.95) -> float | None:
    """One-sided Clopper-Pearson upper bound of the precision of auto-routed tickets: the gate fails on a
    precision *shown* to be under the minimum, not on one a few tickets short of it by chance (thresholds
    certified at 0.95 on held-out tickets give about 0.95 on new ones, a hair above or below)."""
    from scipy.stats import beta

    n = auto["n_auto"]
    if not n:
        return None
    k = round(auto["precision"] * n)
    return 1.0 if k == n else float(beta.ppf(confidence, k + 1, n - k))


def _head(frame: pd.DataFrame, new: pd.DataFrame, old: pd.DataFrame, head: str, gate: Gate) -> dict[str, Any]:
    labelled = frame[head].notna().to_numpy()
    truth = frame[head].astype(str).to_numpy()[labelled]
    new_right = new[f"{head}_predicted"].to_numpy()[labelled] == truth
    old_right = old[f"{head}_predicted"].to_numpy()[labelled] == truth
    classes = []
    for label in sorted(set(truth)):
        mine = truth == label
        n = int(mine.sum())
        recall_new, recall_old = float(new_right[mine].mean()), float(old_right[mine].mean())
        drop = recall_old - recall_new
        test = mcnemar(old_right[mine], new_right[mine])
        significant = gate.significance is None or test["p_value"] < gate.significance
        classes.append(
            {
                "label": label,
                "support": n,
                "recall_new": recall_new,
                "recall_old": recall_old,
                "change": recall_new - recall_old,
                **{f"mcnemar_{k}": v for k, v in test.items()},
                "gated": n >= gate.min_support,
                "fails_gate": n >= gate.min_support and drop > gate.max_recall_drop + 1e-12 and significant,
            }
        )
    return {
        "n_tickets": int(labelled.sum()),
        "accuracy_new": float(new_right.mean()) if len(truth) else None,
        "accuracy_old": float(old_right.mean()) if len(truth) else None,
        "mcnemar": mcnemar(old_right, new_right),
        "classes": sorted(classes, key=lambda c: c["change"]),
    }


def compare(new: Evaluation, old: Evaluation, frame: pd.DataFrame, gate: Gate) -> dict:
    """Per head shared by both models: accuracies, McNemar, per-class recall changes; overall auto-routing
    of both; and the gate's verdict with every failure named (the precision minimum defaults to the new
    bundle's overall target, as its evaluation reports it)."""
    heads, missing = [], {}
    for h in ("category", "priority", "tier"):
        where = [
            name
            for name, present in (
                ("the challenger", f"{h}_predicted" in new.predictions),
                ("the champion", f"{h}_predicted" in old.predictions),
                ("the data", h in frame.columns and frame[h].notna().any()),
            )
            if not present
        ]
        if not where:
            heads.append(h)
        elif len(where) < 3:  # a head nobody has is no difference
            missing[h] = f"head {h} is not compared: missing from {' and '.join(where)}"
    per_head = {head: _head(frame, new.predictions, old.predictions, head, gate) for head in heads}
    auto_new = new.metrics["overall"]["auto_route"]
    auto_old = old.metrics["overall"]["auto_route"]
    failures = [
        f"{head} {c['label']}: recall {c['recall_old']:.3f} -> {c['recall_new']:.3f} "
        f"(drop {c['recall_old'] - c['recall_new']:.3f} > {gate.max_recall_drop:.3f}, {c['support']} tickets, "
        f"McNemar p={c['mcnemar_p_value']:.3g})"
        for head, result in per_head.items()
        for c in result["classes"]
        if c["fails_gate"]
    ]
    if not gate.ignore_missing_heads:
        failures += [f"{reason} (--ignore-missing-heads to accept)" for reason in missing.values()]
    min_precision = gate.min_precision if gate.min_precision is not None else auto_new.get("target")
    upper = precision_upper_bound(auto_new)
    if min_precision is not None and upper is not None and upper < min_precision:
        failures.append(
            f"precision of auto-routed tickets {auto_new['precision']:.3f} is below {min_precision:.3f} "
            f"(95% upper bound {upper:.3f}, {auto_new['n_auto']} tickets auto-routed)"
        )
    return {
        "n_tickets": len(frame),
        "heads": per_head,
        "missing_heads": missing,
        "auto_route": {"new": auto_new, "old": auto_old},
        "gate": {
            **gate.model_dump(),
            "min_precision_applied": min_precision,
            "passed": not failures,
            "failures": failures,
        },
    }


def render_markdown(result: dict[str, Any], new_version: str, old_version: str) -> str:
    """A short comparison for a pull request or a promotion log."""
    gate = result["gate"]
    auto_new, auto_old = result["auto_route"]["new"], result["auto_route"]["old"]

    def fmt(value: float | None, digits: int = 3) -> str:
        return "–" if value is None else f"{value:.{digits}f}"

    lines = [
        f"# Challenger `{new_version}` vs champion `{old_version}`",
        "",
        f"{result['n_tickets']} tickets. Gate: **{'PASSED' if gate['passed'] else 'FAILED'}** "
        f"(a class's recall may drop at most {gate['max_recall_drop']:.3f} where it has at least "
        f"{gate['min_support']} tickets"
        + (f" and McNemar's p < {gate['significance']}" if gate["significance"] else "")
        + f"; auto-routed precision not shown below {fmt(gate['min_precision_applied'])}).",
        "",
        *[f"- {failure}" for failure in gate["failures"]],
        *[f"- {reason}" for reason in result.get("missing_heads", {}).values() if gate.get("ignore_missing_heads")],
        "",
        "| | champion | challenger |",
        "|---|---:|---:|",
        f"| auto-routed | {auto_old['coverage']:.1%} | {auto_new['coverage']:.1%} |",
        f"| precision of auto-routed | {fmt(auto_old['precision'])} | {fmt(auto_new['precision'])} |",
    ]
    for head, r in result["heads"].items():
        m = r["mcnemar"]
        lines += [
            f"| {head} accuracy | {fmt(r['accuracy_old'])} | {fmt(r['accuracy_new'])} "
            f"(McNemar p={m['p_value']:.3g}: {m['better']} better, {m['worse']} worse) |",
        ]
    for head, r in result["heads"].items():
        lines += [
            "",
            f"## {head}: recall per class, largest drop first",
            "",
            "| class | tickets | champion | challenger | change | McNemar p | gate |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        lines += [
            f"| {c['label']} | {c['support']} | {c['recall_old']:.3f} | {c['recall_new']:.3f} | {c['change']:+.3f} | "
            f"{c['mcnemar_p_value']:.3g} | {'FAIL' if c['fails_gate'] else ('ok' if c['gated'] else 'too few')} |"
            for c in r["classes"]
        ]
    return "\n".join(lines) + "\n"
